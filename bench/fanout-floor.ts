/**
 * What one more copy of a managed fan-out costs the sender, without the gateway around it: the
 * CPU-seconds (this process only) of sending a spooled file to 1 and to 3 loopback HTTP servers
 * that discard the bytes (one child process each), two ways, in alternating rounds:
 * - `raw`: one read of the file, each chunk written to every socket (net.Socket, no HTTP client,
 *   no stream layers): what the kernel charges for copying the bytes into a TCP socket;
 * - `gateway`: the gateway's own send path for a managed fan-out, core/shared-body.ts →
 *   providers/shared/framed-body.ts → an undici Agent request per copy.
 * `gateway` minus `raw` for the extra copies is what the gateway's JavaScript adds per copy; the
 * `raw` extra is the floor no stream code can go under (Node has no sendfile or zero-copy send for
 * sockets). Printed, not written to BENCHMARKS.md.
 *
 *   node --import tsx bench/fanout-floor.ts [--size-mb 512] [--rounds 5]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { shareBody } from '../src/core/shared-body.ts';
import { framedBody } from '../src/providers/shared/framed-body.ts';
import { flag, median } from './support/measure.ts';
import { fixed } from './support/report.ts';
import { ensureTestFile, warmPageCache, type TestFile } from './support/test-file.ts';

const SIZE_MB = flag('size-mb', 512);
const ROUNDS = flag('rounds', 5);
/** What the gateway's spool reads move per chunk (core/spooled-file.ts). */
const CHUNK_BYTES = 1024 * 1024;

const SINK = `const server = require('node:http').createServer((req, res) => { req.on('data', () => {}); req.on('end', () => res.end('{}')); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

async function startSink(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { port: Number(line), child };
}

function cpuOf<T>(run: () => Promise<T>): Promise<number> {
  const before = process.cpuUsage();
  return run().then(() => {
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1e6;
  });
}

/** Every chunk of one file read written to each socket; the next read once every socket took it. */
async function sendRaw(file: TestFile, ports: number[]): Promise<void> {
  const sockets = await Promise.all(ports.map((port) => new Promise<Socket>((resolve) => { const socket = connect(port, '127.0.0.1', () => resolve(socket)); })));
  await new Promise<void>((resolve, reject) => {
    let answered = 0;
    for (const socket of sockets) {
      socket.write(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${file.bytes}\r\n\r\n`);
      socket.once('data', () => (++answered === sockets.length ? resolve() : undefined));
      socket.once('error', reject);
    }
    const source = createReadStream(file.path, { highWaterMark: CHUNK_BYTES });
    source.on('data', (chunk) => {
      let waiting = 0;
      for (const socket of sockets) {
        if (socket.write(chunk)) continue;
        waiting += 1;
        socket.once('drain', () => (--waiting === 0 ? source.resume() : undefined));
      }
      if (waiting > 0) source.pause();
    });
  });
  for (const socket of sockets) socket.destroy();
}

/** The gateway's path: one shared read, a framed body per copy, an undici request per copy. */
async function sendLikeGateway(file: TestFile, ports: number[], agent: Agent): Promise<void> {
  const body = { open: () => createReadStream(file.path, { highWaterMark: CHUNK_BYTES }), bytes: file.bytes };
  const head = Buffer.from('--b\r\ncontent-type: application/octet-stream\r\n\r\n');
  const tail = Buffer.from('\r\n--b--\r\n');
  await Promise.all(
    shareBody(body, ports.length).map(async (branch, index) => {
      try {
        const response = await request(`http://127.0.0.1:${ports[index]}/`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-length': String(head.length + file.bytes + tail.length) },
          body: framedBody(head, () => branch.open(), () => tail),
        });
        await response.body.dump();
      } finally {
        branch.release();
      }
    }),
  );
}

async function main(): Promise<void> {
  const file = await ensureTestFile(SIZE_MB * 1024 * 1024);
  await warmPageCache(file);
  const sinks = await Promise.all([0, 1, 2].map(() => startSink()));
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const ports = sinks.map((sink) => sink.port);
  const ways = { raw: (n: number) => sendRaw(file, ports.slice(0, n)), gateway: (n: number) => sendLikeGateway(file, ports.slice(0, n), agent) };
  const results = new Map<string, number[]>();
  try {
    for (const send of Object.values(ways)) for (const n of [1, 3]) await send(n); // warm-up: JIT, connections
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const [way, send] of Object.entries(ways)) {
        for (const n of [1, 3]) {
          const key = `${way} ${n}`;
          results.set(key, [...(results.get(key) ?? []), await cpuOf(() => send(n))]);
        }
      }
      process.stderr.write(`round ${round}/${ROUNDS} done\n`);
    }
  } finally {
    await agent.close();
    for (const sink of sinks) sink.child.kill();
  }
  const gib = file.bytes / 2 ** 30;
  const lines = [`${fixed(file.bytes / 2 ** 20, 0)} MiB in ${CHUNK_BYTES / 2 ** 20} MiB chunks, ${ROUNDS} rounds (medians; sender CPU-seconds of this process):`, ''];
  for (const way of Object.keys(ways)) {
    const one = median(results.get(`${way} 1`)!);
    const three = median(results.get(`${way} 3`)!);
    lines.push(`- ${way}: 1 copy ${fixed(one, 3)} s, 3 copies ${fixed(three, 3)} s → each extra copy ${fixed((three - one) / 2 / gib, 3)} CPU-s per GiB`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
