/**
 * What the chat benchmark needs before it can measure: a scratch Postgres database, the gateway
 * config, a user key, a managed file, and the request scenarios with their answer checks.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import type { ChatScenario } from './fixed-rate.ts';

export const MASTER_KEY = 'sk-bench-chat-master';
export const EMULATOR_KEY = 'sk-emulator-openai';
export const MODEL = 'gpt-4o-mini-openai';
export const UPSTREAM_MODEL = 'gpt-4o-mini';
export const PROMPT = 'Summarize the quarterly report in one sentence';
export const FILENAME = 'quarterly-report.pdf';
const FILE_BYTES = Buffer.from('%PDF-1.4\n% Quarterly report: revenue grew 12% on the year.\n%%EOF\n');

export interface BenchDatabase {
  name: string;
  url: string;
  serverVersion: string;
  query<T extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** CREATE DATABASE unifile_bench_chat_<random> on the server of `adminUrl`; drop() removes it. */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `unifile_bench_chat_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let serverVersion: string;
  try {
    serverVersion = String((await admin.query('SHOW server_version')).rows[0]?.server_version ?? '?');
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    serverVersion,
    async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** One model, gpt-4o-mini-openai → the OpenAI emulator; the database is server Postgres, or embedded PGlite in `dataDir`. */
export function writeGatewayConfig(directory: string, options: { openaiApiBase: string; databaseUrl: string; dataDir?: string }): string {
  const config = {
    model_list: [
      {
        model_name: MODEL,
        litellm_params: { model: `openai/${UPSTREAM_MODEL}`, api_base: options.openaiApiBase, api_key: EMULATOR_KEY },
        model_info: { id: 'openai-bench' },
      },
    ],
    general_settings: { master_key: MASTER_KEY, ...(options.dataDir ? { data_dir: options.dataDir } : { database_url: options.databaseUrl }) },
  };
  const path = join(directory, 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

export async function createUserKey(gatewayUrl: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/user/new`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: `bench-chat-${randomBytes(3).toString('hex')}` }),
  });
  const body = (await response.json()) as { key?: string };
  if (response.status !== 200 || !body.key) throw new Error(`POST /user/new: ${response.status} ${JSON.stringify(body)}`);
  return body.key;
}

export interface ManagedFile {
  unifiedId: string;
  /** The OpenAI emulator's id of the copy (what the gateway puts in the upstream request). */
  providerFileId: string;
}

/**
 * Uploads the benchmark PDF as a managed file for MODEL and reads its provider copy id from the
 * database (Postgres), or from the emulator's file list (`emulatorOrigin`: the gateway runs on
 * embedded PGlite, which only the gateway process can open; the emulator was just reset, so its
 * one file is the copy).
 */
export async function uploadManagedFile(gatewayUrl: string, key: string, database: BenchDatabase, emulatorOrigin?: string): Promise<ManagedFile> {
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('target_model_names', MODEL);
  form.append('file', new Blob([FILE_BYTES], { type: 'application/pdf' }), FILENAME);
  const response = await fetch(`${gatewayUrl}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const body = (await response.json()) as { id?: string };
  if (response.status !== 200 || !body.id) throw new Error(`managed upload: ${response.status} ${JSON.stringify(body)}`);
  if (emulatorOrigin) {
    const listed = await fetch(`${emulatorOrigin}/v1/files`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
    const files = ((await listed.json()) as { data?: Array<{ id: string; filename: string }> }).data ?? [];
    const copies = files.filter((file) => file.filename === FILENAME);
    if (copies.length !== 1) throw new Error(`managed upload: expected one copy of ${FILENAME} on the emulator, found ${copies.length}`);
    return { unifiedId: body.id, providerFileId: copies[0]!.id };
  }
  const rows = await database.query<{ provider_file_id: string }>('SELECT provider_file_id FROM managed_file_copies WHERE file_id = $1', [body.id]);
  if (rows.length !== 1) throw new Error(`managed upload: expected one provider copy of ${body.id}, found ${rows.length}`);
  return { unifiedId: body.id, providerFileId: rows[0]!.provider_file_id };
}

/** Clears the emulator's recorded calls and stored files (its call log grows with every request). */
export async function resetEmulator(emulatorOrigin: string): Promise<void> {
  const response = await fetch(`${emulatorOrigin}/__emulator/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`emulator reset: ${response.status}`);
  await response.arrayBuffer();
}

type Json = Record<string, unknown>;

function messages(fileId: string | undefined): unknown[] {
  if (!fileId) return [{ role: 'user', content: PROMPT }];
  return [{ role: 'user', content: [{ type: 'text', text: PROMPT }, { type: 'file', file: { file_id: fileId } }] }];
}

/** The answer text of a chat.completion, or of an SSE stream of chunks ending in [DONE]. */
function answerText(body: string, stream: boolean): { text?: string; problem?: string } {
  try {
    if (!stream) {
      const parsed = JSON.parse(body) as { object?: string; choices?: Array<{ message?: { content?: string } }> };
      if (parsed.object !== 'chat.completion') return { problem: `object is ${parsed.object}` };
      return { text: parsed.choices?.[0]?.message?.content ?? '' };
    }
    if (!body.trimEnd().endsWith('data: [DONE]')) return { problem: `stream does not end with data: [DONE]: …${body.slice(-200)}` };
    let text = '';
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6)) as { object?: string; choices?: Array<{ delta?: { content?: string } }> };
      if (chunk.object !== 'chat.completion.chunk') return { problem: `stream event object is ${chunk.object}` };
      text += chunk.choices?.[0]?.delta?.content ?? '';
    }
    return { text };
  } catch (error) {
    return { problem: `unparsable answer (${(error as Error).message}): ${body.slice(0, 200)}` };
  }
}

export interface ScenarioTargets {
  emulatorOrigin: string;
  gatewayOrigin: string;
  userKey: string;
  file?: ManagedFile;
}

export type ScenarioId = 'a' | 'a_f' | 'b' | 'c' | 'a_s' | 'a_f_s' | 'b_s' | 'c_s';

export const SCENARIO_LABELS: Record<ScenarioId, string> = {
  a: '(a) direct to the emulator, no file',
  a_f: '(a·f) direct to the emulator, provider file id',
  b: '(b) gateway, no file',
  c: '(c) gateway, managed file',
  a_s: '(a·s) direct to the emulator, stream:true',
  a_f_s: '(a·f·s) direct to the emulator, provider file id, stream:true',
  b_s: '(b·s) gateway, stream:true, no file',
  c_s: '(c·s) gateway, stream:true, managed file',
};

export function needsFile(id: ScenarioId): boolean {
  return id === 'a_f' || id === 'a_f_s' || id === 'c' || id === 'c_s';
}

/** Builds a scenario: the request and the check its answers must pass. */
export function scenario(id: ScenarioId, targets: ScenarioTargets): ChatScenario {
  const direct = id === 'a' || id === 'a_f' || id === 'a_s' || id === 'a_f_s';
  const stream = id === 'a_s' || id === 'a_f_s' || id === 'b_s' || id === 'c_s';
  const file = needsFile(id) ? targets.file : undefined;
  if (needsFile(id) && !file) throw new Error(`scenario ${id} needs a managed file`);
  const body: Json = {
    model: direct ? UPSTREAM_MODEL : MODEL,
    messages: messages(file ? (direct ? file.providerFileId : file.unifiedId) : undefined),
  };
  if (stream) body.stream = true;
  const expected = `Echo from openai:${UPSTREAM_MODEL}: ${PROMPT}`;
  return {
    id,
    label: SCENARIO_LABELS[id],
    origin: direct ? targets.emulatorOrigin : targets.gatewayOrigin,
    path: '/v1/chat/completions', // the emulator's api_base is <origin>/v1; the gateway serves /v1 too
    headers: { 'content-type': 'application/json', authorization: `Bearer ${direct ? EMULATOR_KEY : targets.userKey}` },
    body: JSON.stringify(body),
    stream,
    check(_status, text) {
      const answer = answerText(text, stream);
      if (answer.problem) return answer.problem;
      if (!answer.text!.startsWith(expected)) return `answer does not echo the prompt: ${answer.text!.slice(0, 200)}`;
      if (file) {
        // The emulator names the files it was given: the gateway must have swapped in the copy's id.
        // …and its size shows the upload reached the provider whole.
        if (!answer.text!.includes(`[files: ${file.providerFileId} (${FILENAME}, ${FILE_BYTES.length} bytes)]`)) {
          return `answer does not mention the file copy ${file.providerFileId} of ${FILE_BYTES.length} bytes: ${answer.text}`;
        }
        if (answer.text!.includes(file.unifiedId)) return 'the unified id reached the provider';
      }
      return undefined;
    },
  };
}
