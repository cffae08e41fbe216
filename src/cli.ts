/**
 * `unifile --config FILE [--port N] [--host H]`, `unifile emulate [--port N]`, and the client
 * commands `unifile files …` / `unifile keys …` (src/cli/, loaded only when asked for).
 */
import { parseArgs } from 'node:util';

const HELP = `Unifile — an OpenAI-compatible gateway for files across providers.

Usage:
  unifile --config config.yaml [--port 4000] [--host 0.0.0.0]
      Start the gateway. Routes are served with and without the /v1 prefix.
  unifile emulate [--port 0]
      Start the bundled provider emulators (OpenAI, Azure OpenAI, Google GCS + OAuth)
      on loopback and print their base URLs. --port sets the first port; the others follow.
  unifile files upload|list|download|delete …, unifile keys create …
      Work with a running gateway (see \`unifile files --help\`).
  unifile --help
      Show this text.

Environment: UNIFILE_CONFIG (config path), PORT, HOST, UNIFILE_MASTER_KEY, DATABASE_URL,
UNIFILE_LOG_LEVEL (default info).`;

function fail(message: string): never {
  process.stderr.write(`unifile: ${message}\n`);
  process.exit(2);
}

/** The client commands' common options that may come before the command word. */
const CLIENT_VALUE_OPTIONS = new Set(['--base-url', '--api-key']);

/** Index of `files`/`keys` when the arguments are a client command, else -1. */
function clientCommandIndex(args: string[]): number {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (arg === 'files' || arg === 'keys') return index;
    if (arg === '--json' || /^--(base-url|api-key)=/.test(arg)) continue;
    if (CLIENT_VALUE_OPTIONS.has(arg)) {
      index += 1;
      continue;
    }
    return -1;
  }
  return -1;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (clientCommandIndex(args) >= 0) {
    const { runClientCli } = await import('./cli/client-cli.ts');
    return runClientCli(args);
  }
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  // Loaded here, not at the top: the client commands and --help need none of the server.
  const { cliEnvironment } = await import('./config/load-config.ts');
  const { runEmulators, runGateway } = await import('./main.ts');
  const env = cliEnvironment();
  const portText = values.port ?? env.port;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) fail(`invalid --port '${portText}'`);
  if (positionals[0] === 'emulate') return runEmulators({ port: port ?? 0 });
  if (positionals.length > 0) fail(`unknown command '${positionals[0]}'\n\n${HELP}`);
  const configPath = values.config ?? env.config;
  if (!configPath) fail(`--config is required\n\n${HELP}`);
  await runGateway({ configPath, port: port ?? 4000, host: values.host ?? env.host ?? '0.0.0.0' });
}

main().catch((error: unknown) => {
  fail((error as Error).message ?? String(error));
});
