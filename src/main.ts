/** Starts the gateway (or the emulators) and shuts it down gracefully on SIGINT/SIGTERM. */
import { buildApp } from './app.ts';
import { loadConfig } from './config/load-config.ts';
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

export async function runGateway(options: { configPath: string; port: number; host: string }): Promise<void> {
  const config = loadConfig({ path: options.configPath });
  const runtime = await createRuntime(config);
  const app = await buildApp(runtime);
  for (const warning of config.warnings) app.log.warn({ config: options.configPath }, `config: ${warning}`);
  if (runtime.rekeyed.rows > 0) app.log.info({ rows: runtime.rekeyed.rows }, 're-keyed rows stored under deployment ids of an older version');
  for (const skipped of runtime.rekeyed.skipped) app.log.warn(`could not re-key an old deployment id in ${skipped}`);
  if (runtime.keys.open) app.log.warn('no master key is set (general_settings.master_key / UNIFILE_MASTER_KEY): the gateway runs OPEN, without authentication');
  await app.listen({ port: options.port, host: options.host });
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
