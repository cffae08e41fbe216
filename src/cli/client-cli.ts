/**
 * The client half of the CLI: `unifile files …` and `unifile keys …` talk to a running gateway.
 * Every failure ends as one line on stderr and a non-zero exit code (1: the gateway refused or
 * could not be reached, 2: the command line was wrong), never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { clientEnvironment } from '../config/client-environment.ts';
import { CliError, usageError } from './cli-error.ts';
import { connection, DEFAULT_BASE_URL, describeFailure, type Connection } from './gateway-connection.ts';
import { deleteFile, downloadFile, listFiles, uploadFile } from './files-commands.ts';
import { createKey } from './keys-commands.ts';
import { output } from './output.ts';

export const CLIENT_HELP = `Files and keys on a running gateway:
  unifile files upload FILE [--purpose user_data] [--target-models a,b] [--provider openai]
      Upload FILE (streamed from disk). With --target-models: one managed file stored on every
      deployment of those models; with --provider: a plain file on that provider (default openai).
  unifile files list [--limit N] [--after ID] [--purpose P] [--order asc|desc] [--all] [--provider P]
      Your managed files, newest first (with --provider: that provider's files you may see).
  unifile files download ID [-o PATH|-] [--force] [--provider P]
      Save the content to PATH (a directory keeps the file's name; - writes to stdout);
      default: the file's name in the current directory, never replacing a file without --force.
  unifile files delete ID [--provider P]
      Delete the file (a managed file: every provider copy).
  unifile keys create [--user U] [--models a,b] [--duration 30d] [--alias A] [--team T]
      Admin: create a virtual key (for user U, limited to those models, expiring after the duration).

Common options:
  --base-url URL   the gateway (default ${DEFAULT_BASE_URL}, or UNIFILE_BASE_URL)
  --api-key KEY    the key to send (default: UNIFILE_API_KEY)
  --json           one JSON line on stdout, no progress (also when stdout is not a terminal)

On a terminal, uploads and downloads draw a progress bar (bytes, rate, ETA) on stderr.
Errors print the gateway's message on stderr; exit code 1 (gateway) or 2 (usage).`;

const OPTIONS = {
  'base-url': { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  provider: { type: 'string' },
  purpose: { type: 'string' },
  'target-models': { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  order: { type: 'string' },
  all: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  user: { type: 'string' },
  models: { type: 'string' },
  duration: { type: 'string' },
  alias: { type: 'string' },
  team: { type: 'string' },
} satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;
const COMMON: OptionName[] = ['base-url', 'api-key', 'json', 'help'];

/** What each command takes: its positional arguments and the options that apply to it. */
const COMMANDS: Record<string, { positionals: string[]; options: OptionName[] }> = {
  'files upload': { positionals: ['FILE'], options: ['provider', 'purpose', 'target-models'] },
  'files list': { positionals: [], options: ['provider', 'purpose', 'limit', 'after', 'order', 'all'] },
  'files download': { positionals: ['ID'], options: ['provider', 'output', 'force'] },
  'files delete': { positionals: ['ID'], options: ['provider'] },
  'keys create': { positionals: [], options: ['user', 'models', 'duration', 'alias', 'team'] },
};

/** `a, b,,c` → ['a', 'b', 'c']. */
const list = (value: string | undefined): string[] => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw usageError(`invalid --${name} '${value}': expected a positive integer`);
  return Number(value);
}

async function run(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const name = positionals.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (values.help || positionals.length < 2) {
    if (!values.help) throw usageError(`which ${positionals[0]} command?\n\n${CLIENT_HELP}`);
    process.stdout.write(`${CLIENT_HELP}\n`);
    return;
  }
  if (!command) throw usageError(`unknown command '${name}'\n\n${CLIENT_HELP}`);
  const operands = positionals.slice(2);
  if (operands.length !== command.positionals.length) {
    throw usageError(`${name} takes ${command.positionals.length === 0 ? 'no arguments' : command.positionals.join(' ')}${operands.length > command.positionals.length ? `, not '${operands.at(-1)}'` : ''}`);
  }
  for (const option of Object.keys(values) as OptionName[]) {
    if (!COMMON.includes(option) && !command.options.includes(option)) throw usageError(`--${option} does not apply to '${name}'`);
  }
  const environment = clientEnvironment();
  const target = connection({ baseUrl: values['base-url'] ?? environment.baseUrl, apiKey: values['api-key'] ?? environment.apiKey });
  const context = { target, output: output({ json: values.json === true }), provider: values.provider || undefined };
  try {
    await dispatch(name, operands, values, context);
  } catch (error) {
    throw describeFailure(error, target);
  }
}

async function dispatch(
  name: string,
  operands: string[],
  values: Partial<Record<OptionName, string | boolean>>,
  context: { target: Connection; output: ReturnType<typeof output>; provider?: string },
): Promise<void> {
  const text = (option: OptionName) => values[option] as string | undefined;
  switch (name) {
    case 'files upload':
      return uploadFile(context, { path: operands[0]!, purpose: text('purpose') ?? 'user_data', targetModels: list(text('target-models')) });
    case 'files list': {
      const order = text('order');
      if (order !== undefined && order !== 'asc' && order !== 'desc') throw usageError(`invalid --order '${order}': asc or desc`);
      return listFiles(context, { limit: positiveInteger('limit', text('limit')), after: text('after'), purpose: text('purpose'), order, all: values.all === true });
    }
    case 'files download':
      return downloadFile(context, { fileId: operands[0]!, output: text('output'), force: values.force === true });
    case 'files delete':
      return deleteFile(context, { fileId: operands[0]! });
    case 'keys create':
      return createKey(context, { user: text('user'), models: list(text('models')), duration: text('duration'), alias: text('alias'), team: text('team') });
  }
}

/** Runs a client command and exits with its code. */
export async function runClientCli(args: string[]): Promise<void> {
  try {
    await run(args);
  } catch (error) {
    const failure = error instanceof CliError ? error : new CliError((error as Error)?.message ?? String(error));
    process.stderr.write(`unifile: ${failure.message}\n`);
    process.exitCode = failure.exitCode;
  }
}
