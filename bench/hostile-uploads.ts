/**
 * Hostile uploads (README "Endpoints" (limits)): the gateway's RSS under 3 concurrent maximal forms (20 fields ×
 * 64 KiB + a file) and under 3 concurrent over-limit forms (100 × 1 MiB fields, which the
 * gateway must refuse without holding them); then another tenant's latency (p50/p99 of
 * retrieve, which calls the provider, and of the managed list) alone and while 128 uploads from
 * 8 tenants stall mid-file on open sockets.
 *
 *   node --import tsx bench/hostile-uploads.ts [--requests 400] [--concurrency 4] [--stalled 128]
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { OPENAI_KEY, startEmulatorProcess } from './support/emulator-process.ts';
import { MASTER_KEY, startGateway } from './support/gateway-process.ts';
import { commandText, flag, measurePhase } from './support/measure.ts';
import { memoryStatus } from './support/proc-stats.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';

const REQUESTS = flag('requests', 400);
const CONCURRENCY = flag('concurrency', 4);
const STALLED = flag('stalled', 128);
const PER_KEY = 16;
const BOUNDARY = 'benchBoundary';

/** Streams a multipart form of `fields` text fields of `fieldBytes` each, then a file of `fileBytes`. */
function postForm(url: string, options: { fields: number; fieldBytes: number; fileBytes: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/openai/v1/files`,
      { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)));
    const parts = (function* () {
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n`);
      const value = Buffer.alloc(64 * 1024, 0x61);
      for (let field = 1; field < options.fields; field += 1) {
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="note${field}"\r\n\r\n`);
        for (let sent = 0; sent < options.fieldBytes; sent += value.length) yield value.subarray(0, Math.min(value.length, options.fieldBytes - sent));
        yield Buffer.from('\r\n');
      }
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="form.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
      for (let sent = 0; sent < options.fileBytes; sent += value.length) yield value.subarray(0, Math.min(value.length, options.fileBytes - sent));
      yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    })();
    const pump = () => {
      for (let next = parts.next(); !next.done; next = parts.next()) {
        if (outgoing.destroyed) return;
        if (!outgoing.write(next.value)) return void outgoing.once('drain', pump);
      }
      outgoing.end();
    };
    pump();
  });
}

/** A socket that sends the head of a fields-first upload and 10 file bytes, then nothing. */
async function stall(url: string, key: string): Promise<Socket> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('error', () => undefined);
  socket.resume();
  const body =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="stall.bin"\r\n\r\n0123456789`;
  socket.write(
    `POST /openai/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`,
  );
  return socket;
}

/** `count` requests from `concurrency` workers; each latency in ms. */
async function latencies(count: number, call: () => Promise<void>): Promise<number[]> {
  const results: number[] = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < count) {
        issued += 1;
        const started = performance.now();
        await call();
        results.push(performance.now() - started);
      }
    }),
  );
  return results.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  await checkQuietMachine();
  const emulators = await startEmulatorProcess(['openai']);
  const openai = `${emulators.url('openai')}/v1`;
  const gateway = await startGateway({
    config: {
      files_settings: [{ custom_llm_provider: 'openai', api_base: openai, api_key: OPENAI_KEY }],
      general_settings: { max_concurrent_uploads_per_key: PER_KEY },
    },
    logLevel: 'warn',
  });
  const sockets: Socket[] = [];
  try {
    const idleMb = memoryStatus(gateway.pid).rssMb;
    const formRows: Array<Array<string | number>> = [];
    for (const [label, shape] of [
      ['3 × maximal form (20 fields × 64 KiB + 1 MiB file)', { fields: 20, fieldBytes: 64 * 1024, fileBytes: 1024 * 1024 }],
      ['3 × over-limit form (100 fields × 1 MiB + 1 MiB file)', { fields: 100, fieldBytes: 1024 * 1024, fileBytes: 1024 * 1024 }],
    ] as const) {
      const { result, stats } = await measurePhase(gateway, {}, () => Promise.all([1, 2, 3].map(() => postForm(gateway.url, shape))));
      formRows.push([label, result.join(', '), fixed(stats.peakMb), fixed(stats.rssAfterMb)]);
    }
    await emulators.reset('openai');

    const other = await gateway.newUser();
    const created = await fetch(`${gateway.url}/openai/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.key}` },
      body: (() => {
        const form = new FormData();
        form.append('purpose', 'user_data');
        form.append('file', new Blob(['the other tenant']), 'own.txt');
        return form;
      })(),
    });
    const own = ((await created.json()) as { id: string }).id;
    const retrieve = async () => {
      const response = await fetch(`${gateway.url}/openai/v1/files/${own}`, { headers: { authorization: `Bearer ${other.key}` } });
      if (response.status !== 200) throw new Error(`retrieve ${response.status}`);
      await response.arrayBuffer();
    };
    const list = async () => {
      const response = await fetch(`${gateway.url}/v1/files?limit=10`, { headers: { authorization: `Bearer ${other.key}` } });
      if (response.status !== 200) throw new Error(`list ${response.status}`);
      await response.arrayBuffer();
    };
    const latencyRows: Array<Array<string | number>> = [];
    const measure = async (phase: string) => {
      for (const [name, call] of [['retrieve (upstream call)', retrieve], ['managed list (database)', list]] as const) {
        const sorted = await latencies(REQUESTS, call);
        latencyRows.push([phase, name, sorted.length, fixed(percentile(sorted, 50), 1), fixed(percentile(sorted, 99), 1), fixed(sorted.at(-1)!, 1)]);
      }
    };
    await measure('alone');
    const tenants = await Promise.all(Array.from({ length: Math.ceil(STALLED / PER_KEY) }, () => gateway.newUser()));
    for (let index = 0; index < STALLED; index += 1) sockets.push(await stall(gateway.url, tenants[Math.floor(index / PER_KEY)]!.key));
    const stalledMb = memoryStatus(gateway.pid).rssMb;
    await measure(`while ${STALLED} uploads stall`);
    const body = [
      `Gateway: ${gateway.runtime} on Postgres, idle RSS ${fixed(idleMb)} MiB. Form limits (README "Endpoints" (limits)): 20 fields of 64 KiB, one file part.`,
      '',
      table(['3 concurrent uploads to /openai/v1/files', 'statuses', 'gateway peak RSS MiB', 'RSS after MiB'], formRows),
      '',
      `Another tenant, ${REQUESTS} requests per row from ${CONCURRENCY} concurrent workers (latency in ms). The stalled uploads come from ` +
        `${tenants.length} other keys (${PER_KEY} each, max_concurrent_uploads_per_key), fields first, 10 file bytes sent then nothing ` +
        `(each starts streaming upstream as soon as its file part begins). Gateway RSS with them open: ${fixed(stalledMb)} MiB.`,
      '',
      table(['phase', 'request', 'n', 'p50', 'p99', 'max'], latencyRows),
      '',
      'Before h7-uploads the over-limit forms were accepted with every field held in memory (issue 7: RSS 97 → 429 MB with 3 requests), ' +
        'and 128 stalled uploads held the whole upstream pool (128 connections), so the retrieve rows never completed.',
    ].join('\n');
    await publish({ key: 'hostile-uploads', title: 'Hostile uploads: maximal forms and stalled clients', command: commandText('bench/hostile-uploads.ts'), body });
  } finally {
    for (const socket of sockets) socket.destroy();
    await gateway.stop();
    await emulators.stop();
  }
}

await main();
