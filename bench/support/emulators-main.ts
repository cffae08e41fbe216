/**
 * Child-process entry: starts the requested emulators on loopback and prints one JSON line
 * `{"event":"ready",...}` with their base URLs, keys and (with google) a service account whose
 * token_uri is this process's token endpoint. Reads commands on stdin, one per line:
 *   objects → prints `{"event":"objects","objects":[...]}` (the GCS objects, with sha256)
 *
 *   node --import tsx bench/support/emulators-main.ts [--services openai,openai2,azure,google]
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startAzureEmulator } from '../../src/emulators/azure-emulator.ts';
import type { Emulator } from '../../src/emulators/emulator-kit.ts';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import { startOpenAIEmulator } from '../../src/emulators/openai-emulator.ts';
import { OPENAI2_KEY, OPENAI_KEY, VERTEX_PROJECT, type EmulatorsReady } from './emulator-process.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { services: { type: 'string', default: 'openai,azure,google' } } });
  const services = new Set(values.services!.split(',').map((name) => name.trim()));
  const running: Emulator[] = [];
  const ready: EmulatorsReady = { event: 'ready', pid: process.pid, urls: {} };
  let google: GoogleEmulator | undefined;
  const add = <E extends Emulator>(name: keyof EmulatorsReady['urls'], emulator: E): E => {
    running.push(emulator);
    ready.urls[name] = emulator.url;
    return emulator;
  };
  if (services.has('openai')) add('openai', await startOpenAIEmulator({ apiKey: OPENAI_KEY }));
  if (services.has('openai2')) add('openai2', await startOpenAIEmulator({ apiKey: OPENAI2_KEY }));
  if (services.has('azure')) add('azure', await startAzureEmulator());
  if (services.has('google')) {
    google = add('google', await startGoogleEmulator());
    ready.serviceAccount = google.createServiceAccount({ projectId: VERTEX_PROJECT });
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'objects') process.stdout.write(`${JSON.stringify({ event: 'objects', objects: google?.objects() ?? [] })}\n`);
  });
  const stop = () => {
    void Promise.all(running.map((emulator) => emulator.close())).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
