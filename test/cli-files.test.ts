/**
 * The files/keys CLI (README "Command line") through the real binary against a real gateway
 * process with the bundled emulators: upload to two models, list, download, delete, keys create;
 * one JSON line when piped; a progress bar on a pseudo-terminal; the gateway's own error
 * messages with a non-zero exit code; another user's ids out of reach.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { runCli, runCliOnTerminal } from './support/cli-client.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';

const MASTER = 'sk-cli-master-secret';
const AZURE_VERSION = '2024-10-21';
let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway;
let directory: string;
let alice: string;
let bob: string;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The CLI as a given user, pointed at the gateway with --base-url (the key from UNIFILE_API_KEY). */
const cli = (key: string, args: string[]) => runCli(['--base-url', gateway.base, ...args], { UNIFILE_API_KEY: key });

function jsonLine(run: { code: number | null; stdout: string; stderr: string }): Record<string, unknown> {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'nothing on stderr when piped');
  const lines = run.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `exactly one line on stdout: ${run.stdout}`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function writeRandomFile(name: string, bytes: number): { path: string; content: Buffer } {
  const content = randomBytes(bytes);
  const path = join(directory, name);
  writeFileSync(path, content);
  return { path, content };
}

/** Files the emulators hold: OpenAI's list and Azure's list, asked directly. */
async function emulatorFiles(): Promise<{ openai: Array<{ id: string; bytes: number }>; azure: Array<{ id: string; bytes: number }> }> {
  const openai = new OpenAI({ apiKey: 'sk-emulator-openai', baseURL: emulators.openai.apiBase, maxRetries: 0 });
  const azureList = await fetch(`${emulators.urls.azure}/openai/files?api-version=${AZURE_VERSION}`, { headers: { 'api-key': 'azure-emulator-key' } });
  return { openai: (await openai.files.list()).data, azure: ((await azureList.json()) as { data: Array<{ id: string; bytes: number }> }).data };
}

before(async () => {
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  directory = mkdtempSync(join(tmpdir(), 'unifile-cli-files-'));
  gateway = await startCliGateway(
    stringify({
      files_settings: [{ custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' }],
      model_list: [
        { model_name: 'gpt-a', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
        {
          model_name: 'gpt-b',
          litellm_params: { model: 'azure/my-gpt-deployment', api_base: emulators.urls.azure, api_key: 'azure-emulator-key', api_version: AZURE_VERSION },
        },
      ],
      general_settings: { master_key: MASTER, ...(database.url ? { database_url: database.url } : {}) },
    }),
    { UNIFILE_LOG_LEVEL: 'info' }, // the harness waits for the 'Server listening' line
  );
  // Users made through the CLI itself: `keys create --user` (admin).
  alice = String(jsonLine(await cli(MASTER, ['keys', 'create', '--user', 'alice'])).key);
  bob = String(jsonLine(await cli(MASTER, ['keys', 'create', '--user', 'bob', '--models', 'gpt-a', '--duration', '1d'])).key);
});
after(async () => {
  await gateway?.stop();
  await emulators?.close();
  await database?.drop();
});

test('keys create: one JSON line with the key, its user, models and expiry; the new key works', async () => {
  const created = jsonLine(await cli(MASTER, ['keys', 'create', '--user', 'carol', '--models', 'gpt-a, gpt-b', '--duration', '30d', '--json']));
  assert.match(String(created.key), /^sk-/);
  assert.equal(created.user_id, 'carol');
  assert.deepEqual(created.models, ['gpt-a', 'gpt-b']);
  const expires = Date.parse(String(created.expires));
  assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 120_000, `expires in 30 days: ${created.expires}`);
  const listed = jsonLine(await cli(String(created.key), ['files', 'list']));
  assert.deepEqual(listed.data, []);
  // bob was created limited to gpt-a: the gateway's 403 names the model he may not use.
  const refused = await cli(bob, ['files', 'upload', writeRandomFile('b.txt', 10).path, '--target-models', 'gpt-b']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /gpt-b/);
  assert.match(refused.stderr, /HTTP 403/);
  // Only an admin creates keys: the gateway's own refusal, exit 1.
  const notAdmin = await cli(alice, ['keys', 'create']);
  assert.equal(notAdmin.code, 1);
  assert.equal(notAdmin.stdout, '');
  assert.match(notAdmin.stderr, /^unifile: .+ \(HTTP 403\)\n$/);
});

test('a managed upload to two models, list, download and delete, each one JSON line when piped', async () => {
  const { path, content } = writeRandomFile('report.bin', 3 * 1024 * 1024 + 17);
  const before = await emulatorFiles();
  const file = jsonLine(await cli(alice, ['files', 'upload', path, '--target-models', 'gpt-a,gpt-b', '--purpose', 'user_data']));
  assert.match(String(file.id), /^file-uf_/);
  assert.equal(file.bytes, content.length);
  assert.equal(file.filename, 'report.bin');
  assert.equal(file.purpose, 'user_data');
  assert.deepEqual(file.target_model_names, ['gpt-a', 'gpt-b']);
  // One copy on each provider, with every byte.
  const during = await emulatorFiles();
  assert.equal(during.openai.filter((copy) => copy.bytes === content.length).length - before.openai.filter((copy) => copy.bytes === content.length).length, 1);
  assert.equal(during.azure.filter((copy) => copy.bytes === content.length).length - before.azure.filter((copy) => copy.bytes === content.length).length, 1);

  const listed = jsonLine(await cli(alice, ['files', 'list', '--limit', '10']));
  assert.ok((listed.data as Array<{ id: string }>).some((entry) => entry.id === file.id));
  // --all follows the pages (here of one file each) to the end.
  const paged = jsonLine(await cli(alice, ['files', 'list', '--limit', '1', '--all']));
  assert.deepEqual(paged.data, listed.data);
  assert.equal(paged.has_more, false);
  // bob sees nothing of alice's.
  assert.ok(!(jsonLine(await cli(bob, ['files', 'list'])).data as Array<{ id: string }>).some((entry) => entry.id === file.id));

  const target = join(directory, 'downloaded.bin');
  const saved = jsonLine(await cli(alice, ['files', 'download', String(file.id), '-o', target]));
  assert.deepEqual(saved, { id: file.id, path: target, bytes: content.length });
  assert.equal(sha256(readFileSync(target)), sha256(content));
  // Without -o: the file's own name in the working directory (here: into a directory).
  const into = mkdtempSync(join(directory, 'into-'));
  const named = jsonLine(await cli(alice, ['files', 'download', String(file.id), '-o', into]));
  assert.equal(named.path, join(into, 'report.bin'));
  assert.equal(sha256(readFileSync(join(into, 'report.bin'))), sha256(content));
  const again = await cli(alice, ['files', 'download', String(file.id), '-o', into]);
  assert.equal(again.code, 2, 'a server-chosen name never replaces a file without --force');
  assert.match(again.stderr, /exists/);

  const deleted = jsonLine(await cli(alice, ['files', 'delete', String(file.id)]));
  assert.deepEqual(deleted, { id: file.id, object: 'file', deleted: true });
  const afterDelete = await emulatorFiles();
  assert.deepEqual(afterDelete.openai.map((copy) => copy.id).sort(), before.openai.map((copy) => copy.id).sort());
  assert.deepEqual(afterDelete.azure.map((copy) => copy.id).sort(), before.azure.map((copy) => copy.id).sort());
  assert.ok(!(jsonLine(await cli(alice, ['files', 'list'])).data as Array<{ id: string }>).some((entry) => entry.id === file.id));
});

test('a plain upload with --provider goes to that provider and comes back through it', async () => {
  const content = randomBytes(1024).toString('hex');
  const path = join(directory, 'plain.txt');
  writeFileSync(path, content);
  const file = jsonLine(await cli(alice, ['files', 'upload', path, '--provider', 'openai', '--purpose', 'assistants']));
  assert.match(String(file.id), /^file-(?!uf_)/);
  assert.ok((await emulatorFiles()).openai.some((copy) => copy.id === file.id));
  const listed = jsonLine(await cli(alice, ['files', 'list', '--provider', 'openai']));
  assert.ok((listed.data as Array<{ id: string }>).some((entry) => entry.id === file.id));
  const download = await runCli(['--base-url', gateway.base, '--api-key', alice, 'files', 'download', String(file.id), '--provider', 'openai', '-o', '-']);
  assert.equal(download.code, 0, download.stderr);
  assert.equal(download.stdout, content, 'the bytes alone on stdout');
  assert.equal(download.stderr, '');
  assert.deepEqual(jsonLine(await cli(alice, ['files', 'delete', String(file.id), '--provider', 'openai'])).deleted, true);
});

test('errors: the gateway message on stderr, nothing on stdout, exit 1; another user\'s id answers as unknown', async () => {
  const unknown = await cli(alice, ['files', 'download', 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '-o', join(directory, 'unknown.bin')]);
  const raw = await fetch(`${gateway.base}/v1/files/file-uf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/content`, { headers: { authorization: `Bearer ${alice}` } });
  const message = ((await raw.json()) as { error: { message: string } }).error.message;
  assert.equal(raw.status, 404);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stdout, '');
  assert.equal(unknown.stderr, `unifile: ${message} (HTTP 404)\n`);
  assert.deepEqual(readdirSync(directory).filter((name) => name.includes('unknown')), [], 'nothing written');

  // alice's file: bob gets the same 404 for download and delete, and the file survives.
  const { path } = writeRandomFile('mine.txt', 100);
  const file = jsonLine(await cli(alice, ['files', 'upload', path, '--target-models', 'gpt-a']));
  for (const args of [['files', 'download', String(file.id), '-o', join(directory, 'stolen')], ['files', 'delete', String(file.id)]]) {
    const foreign = await cli(bob, args);
    assert.equal(foreign.code, 1);
    assert.equal(foreign.stdout, '');
    assert.match(foreign.stderr, /\(HTTP 404\)\n$/);
    assert.equal(foreign.stderr.replaceAll(String(file.id), 'ID'), unknown.stderr.replaceAll('file-uf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'ID'));
  }
  assert.equal(existsSync(join(directory, 'stolen')), false);
  assert.equal(jsonLine(await cli(alice, ['files', 'delete', String(file.id)])).deleted, true);

  const unknownModel = await cli(alice, ['files', 'upload', path, '--target-models', 'no-such-model']);
  assert.equal(unknownModel.code, 1);
  assert.match(unknownModel.stderr, /^unifile: .*no-such-model.* \(HTTP 400\)\n$/);

  const wrongKey = await cli('sk-not-a-key', ['files', 'list']);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /^unifile: .+ \(HTTP 401\)\n$/);
  // Refused before the body was read: the answer is reported, not the broken pipe that follows.
  const wrongKeyUpload = await cli('sk-not-a-key', ['files', 'upload', writeRandomFile('refused.bin', 8 * 1024 * 1024).path]);
  assert.deepEqual(wrongKeyUpload, { code: 1, stdout: '', stderr: wrongKey.stderr });
});

test('a missing key, an unreachable gateway and a bad command line are one clear line each, no stack', async () => {
  const noKey = await runCli(['--base-url', gateway.base, 'files', 'list']);
  assert.deepEqual(noKey, { code: 2, stdout: '', stderr: 'unifile: no API key: pass --api-key or set UNIFILE_API_KEY\n' });
  // A loopback port nothing listens on (just freed).
  const closed = `http://127.0.0.1:${await freePort()}`;
  const refused = `unifile: cannot reach the gateway at ${closed} (ECONNREFUSED)\n`;
  const unreachable = await runCli(['files', 'upload', join(directory, 'mine.txt'), '--base-url', closed], { UNIFILE_API_KEY: alice });
  assert.deepEqual(unreachable, { code: 1, stdout: '', stderr: refused });
  const listUnreachable = await runCli(['files', 'list', '--base-url', closed], { UNIFILE_API_KEY: alice });
  assert.deepEqual(listUnreachable, { code: 1, stdout: '', stderr: refused });
  const missingFile = await cli(alice, ['files', 'upload', join(directory, 'nope.bin')]);
  assert.deepEqual(missingFile, { code: 2, stdout: '', stderr: `unifile: cannot read '${join(directory, 'nope.bin')}': ENOENT\n` });
  const wrongOption = await cli(alice, ['files', 'delete', 'file-x', '--purpose', 'batch']);
  assert.deepEqual(wrongOption, { code: 2, stdout: '', stderr: "unifile: --purpose does not apply to 'files delete'\n" });
});

test('on a terminal: a progress bar with bytes, rate and ETA, then a readable result', async () => {
  const { path, content } = writeRandomFile('big.bin', 24 * 1024 * 1024);
  const upload = await runCliOnTerminal(['--base-url', gateway.base, 'files', 'upload', path, '--target-models', 'gpt-a,gpt-b'], { UNIFILE_API_KEY: alice });
  assert.equal(upload.code, 0, upload.output);
  // Redrawn in place: `\r`, the line, erase to its end.
  assert.match(upload.output, /\rupload big\.bin +\d+% \[[#-]+\] +[\d.]+ [KMG]?i?B\/24\.0 MiB [\d.]+ [KMG]?i?B\/s ETA \d\d:\d\d *\x1b\[K/, upload.output);
  assert.match(upload.output, /\rupload big\.bin 100% \[#+\] 24\.0 MiB\/24\.0 MiB avg [\d.]+ [KMG]?i?B\/s \d\d:\d\d/);
  const id = /uploaded (file-uf_\S+) +big\.bin +\(24\.0 MiB, user_data, models gpt-a, gpt-b\)/.exec(upload.output)?.[1];
  assert.ok(id, upload.output);

  const list = await runCliOnTerminal(['--base-url', gateway.base, 'files', 'list'], { UNIFILE_API_KEY: alice });
  assert.match(list.output, /^ID +FILENAME +SIZE +PURPOSE +CREATED \(UTC\) +EXPIRES \(UTC\) +MODELS/m);
  assert.match(list.output, new RegExp(`^${id} +big\\.bin +24\\.0 MiB +user_data +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +- +gpt-a, gpt-b\\r?$`, 'm'));

  const target = join(directory, 'copy.bin');
  const download = await runCliOnTerminal(['--base-url', gateway.base, 'files', 'download', id, '-o', target], { UNIFILE_API_KEY: alice });
  assert.equal(download.code, 0, download.output);
  assert.match(download.output, /\rdownload copy\.bin +\d+% \[[#-]+\] +[\d.]+ [KMG]?i?B\/24\.0 MiB [\d.]+ [KMG]?i?B\/s ETA \d\d:\d\d/);
  assert.match(download.output, /saved file-uf_\S+ to .*copy\.bin \(24\.0 MiB\)/);
  assert.equal(sha256(readFileSync(target)), sha256(content));

  // --json on a terminal: no bar, one JSON line.
  const quiet = await runCliOnTerminal(['--base-url', gateway.base, '--json', 'files', 'delete', id], { UNIFILE_API_KEY: alice });
  assert.equal(quiet.code, 0);
  assert.deepEqual(JSON.parse(quiet.output.trim()), { id, object: 'file', deleted: true });

  const failed = await runCliOnTerminal(['--base-url', gateway.base, 'files', 'delete', id], { UNIFILE_API_KEY: alice });
  assert.equal(failed.code, 1);
  assert.match(failed.output, /^unifile: .+ \(HTTP 404\)\r?\n$/);
});

test('a download interrupted with Ctrl-C (SIGINT) exits 130 and leaves no partial file', async () => {
  // A server that sends the headers and the first bytes of the content, then nothing more.
  const stalling = createHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000', 'content-disposition': 'attachment; filename="slow.bin"' });
    response.write(Buffer.alloc(1000, 7));
  });
  await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  const into = mkdtempSync(join(directory, 'interrupted-'));
  const child = spawn(process.execPath, ['bin/unifile.js', 'files', 'download', 'file-slow', '-o', into, '--base-url', `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, UNIFILE_API_KEY: alice },
  });
  try {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Wait for the partial file to exist (the first bytes were written), then interrupt.
    while (!readdirSync(into).some((name) => name.endsWith('.part'))) {
      if (child.exitCode !== null) assert.fail(`the CLI exited early with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(readdirSync(into), []);
  } finally {
    child.kill('SIGKILL');
    stalling.closeAllConnections();
    await new Promise((resolve) => stalling.close(resolve));
  }
});
