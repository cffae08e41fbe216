/** Starts the gateway (or the emulators) and shuts it down gracefully on SIGINT/SIGTERM. */
import { setFlagsFromString } from 'node:v8';
import { request } from 'undici';
import { buildApp } from './app.ts';
import { loadConfig } from './config/load-config.ts';
import { nodeFlagGiven } from './config/node-flags.ts';
import { startAllEmulators } from './emulators/start-all.ts';
import { createRuntime } from './runtime.ts';

const SHUTDOWN_GRACE_MS = 15_000;

function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`unifile: ${signal} received, finishing in-flight requests\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}

/**
 * V8 sets the old generation's next mark-compact limit from its live size with a small margin
 * (about 9 MB for this gateway's ~26 MB once a memory-reducing collection has run, e.g. after an
 * idle spell), and counts ArrayBuffer bytes allocated since the last mark-compact against it. File
 * bytes in flight (socket reads, spool chunks, 1 MiB apiece) then cross that margin every few MiB:
 * a 1 GiB upload ran 50–110 mark-compacts, 1–3 CPU-seconds. A fixed growing factor of 1.5
 * (`--heap-growing-percent`, see `node --v8-options`) keeps a margin above that churn: 0–1
 * mark-compacts per upload, the old generation at most half above its live size. A value given on
 * the command line or in NODE_OPTIONS wins.
 */
function tuneHeapGrowth(): void {
  if (!nodeFlagGiven('heap-growing-percent')) setFlagsFromString('--heap-growing-percent=50');
}

/**
 * undici parses every upstream response with llhttp compiled to WebAssembly, which V8 compiles
 * first with its baseline compiler (Liftoff) and, once hot, again with TurboFan (faster parsing,
 * ~3 µs less CPU per response measured). That TurboFan compile of llhttp's one large parsing
 * function takes ~0.2–0.4 s on a worker thread and ~30 MB of compiler memory while it runs: when it
 * happened in the middle of a large upload it was that upload's RSS peak (+30–35 MiB, BENCHMARKS.md,
 * "Vertex AI batch through the gateway"). So the parser is compiled right after start-up, while
 * the process is small: one connection to the gateway's own port instantiates it with
 * `--no-wasm-dynamic-tiering` set (`node --v8-options`: every function then goes to TurboFan at
 * once, in the background), and the flag goes back as soon as the module is compiled; V8 decides
 * the tiering of a module when it compiles it, so nothing compiled later (or before, like an
 * embedded PGlite) is affected. A tiering flag given on the command line or in NODE_OPTIONS wins.
 */
async function compileResponseParser(port: number): Promise<void> {
  if (nodeFlagGiven('wasm-dynamic-tiering')) return;
  setFlagsFromString('--no-wasm-dynamic-tiering');
  try {
    // Bounded: if the gateway listens elsewhere and another server answers there, start-up does not wait on it.
    const response = await request(`http://127.0.0.1:${port}/health/liveliness`, { signal: AbortSignal.timeout(2000) });
    await response.body.dump();
  } catch {
    // Only a warm-up: a gateway not listening on 127.0.0.1 compiles the parser at its first upstream call.
  } finally {
    setFlagsFromString('--wasm-dynamic-tiering');
  }
}

export async function runGateway(options: { configPath: string; port: number; host: string }): Promise<void> {
  tuneHeapGrowth();
  const config = loadConfig({ path: options.configPath });
  const runtime = await createRuntime(config);
  const app = await buildApp(runtime);
  for (const warning of config.warnings) app.log.warn({ config: options.configPath }, `config: ${warning}`);
  if (runtime.rekeyed.rows > 0) app.log.info({ rows: runtime.rekeyed.rows }, 're-keyed rows stored under deployment ids of an older version');
  for (const skipped of runtime.rekeyed.skipped) app.log.warn(`could not re-key an old deployment id in ${skipped}`);
  if (runtime.keys.open) app.log.warn('no master key is set (general_settings.master_key / UNIFILE_MASTER_KEY): the gateway runs OPEN, without authentication');
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  await compileResponseParser(typeof address === 'object' && address ? address.port : options.port);
  runtime.startBackgroundWork(app.log);
  app.log.info(
    { database: runtime.database.kind, models: runtime.registry.modelNames().length, maxUploadSizeMb: config.maxUploadSizeMb },
    'unifile ready',
  );
  onShutdown(async () => {
    // In-flight requests get a grace period; connections still open after it are cut.
    const closing = app.close();
    const grace = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closing;
    clearTimeout(grace);
    await runtime.close();
  });
}

export async function runEmulators(options: { port: number }): Promise<void> {
  const emulators = await startAllEmulators({ port: options.port });
  for (const [name, url] of Object.entries(emulators.urls)) process.stdout.write(`${name.padEnd(8)} ${url}\n`);
  process.stdout.write('Emulators running; Ctrl-C to stop.\n');
  onShutdown(() => emulators.close());
}
