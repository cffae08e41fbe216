/**
 * The composition root: opens the database, builds the adapters and the services from a
 * loaded config. The HTTP app, the CLI and the SDK's Gateway all start from here.
 */
import { rm } from 'node:fs/promises';
import { processSpoolDirectory, removeStaleSpools } from './core/spooled-file.ts';
import type { GatewayConfig } from './config/load-config.ts';
import { openDatabase, type Database } from './persistence/database.ts';
import { rekeyDeployments, type RekeyResult } from './persistence/deployment-rekey.ts';
import { InvalidationBus } from './persistence/invalidation-bus.ts';
import { KeyRepository } from './persistence/key-repository.ts';
import { ProviderFileRepository } from './persistence/provider-file-repository.ts';
import { FineTuningJobRepository } from './persistence/fine-tuning-job-repository.ts';
import { ProviderRegistry } from './providers/registry.ts';
import { ManagedFileRepository } from './persistence/managed-file-repository.ts';
import type { AdapterLogger } from './providers/provider-adapter.ts';
import { BatchRepository } from './persistence/batch-repository.ts';
import { BatchInputResolver } from './services/batch-input.ts';
import { BatchReferences } from './services/batch-references.ts';
import { RawReferenceOwner } from './services/raw-reference-owner.ts';
import { BatchRefresher, startBatchRefresher } from './services/batch-refresh.ts';
import { BatchesService } from './services/batches-service.ts';
import { ChatService } from './services/chat-service.ts';
import { CopyReadiness } from './services/copy-readiness.ts';
import { CopyRemaker } from './services/copy-remake.ts';
import { ManagedFileCache } from './services/managed-file-cache.ts';
import { FilesService } from './services/files-service.ts';
import { FineTunedModels } from './services/fine-tuned-models.ts';
import { FineTuningPlacement } from './services/fine-tuning-placement.ts';
import { FineTuningService } from './services/fine-tuning-service.ts';
import { FineTuningRefresher } from './services/fine-tuning-refresh.ts';
import { ManagedFileDeletion } from './services/managed-file-deletion.ts';
import { startSweeper } from './services/sweeper.ts';
import { CopyJournal } from './services/copy-journal.ts';
import { CopyJournalRepository } from './persistence/copy-journal-repository.ts';
import { ManagedFilesService } from './services/managed-files-service.ts';
import { UploadSlots } from './services/upload-slots.ts';
import { KeyService } from './services/key-service.ts';
import { providerOrigins } from './services/stored-references.ts';

export interface Runtime {
  config: GatewayConfig;
  database: Database;
  registry: ProviderRegistry;
  keys: KeyService;
  files: FilesService;
  managedFiles: ManagedFilesService;
  chat: ChatService;
  /** Fine-tuning jobs (README "Batches"). */
  fineTuning: FineTuningService;
  batches: BatchesService;
  /** Refreshes unfinished batches (the background loop runs it; tests may call refreshDue). */
  batchRefresher: BatchRefresher;
  /** Refreshes unfinished fine-tuning jobs (the background loop runs it; tests may call refreshDue). */
  fineTuningRefresher: FineTuningRefresher;
  deletion: ManagedFileDeletion;
  /** Rows moved from deployment ids older versions derived (secrets included) at startup. */
  rekeyed: RekeyResult;
  /** Intent rows of provider copies being made; reconciled by the sweeper after a crash. */
  journal: CopyJournal;
  /** The per-key cap on concurrent uploads. */
  uploadSlots: UploadSlots;
  /** This process's spool directory (under config.spoolDir). */
  spoolDirectory: string;
  /** Starts the expiry/retry sweeper (the CLI does; tests drive sweepOnce themselves). */
  startBackgroundWork(logger: AdapterLogger): void;
  close(): Promise<void>;
}

export async function createRuntime(config: GatewayConfig): Promise<Runtime> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const renames = config.deployments.flatMap((deployment) => deployment.previousIds.map((from) => ({ from, to: deployment.id })));
  // Before anything reads a copy: rows under an old-style id must be found under the new one.
  const rekeyed = await rekeyDeployments(database.db, renames);
  const registry = new ProviderRegistry({
    deployments: config.deployments,
    filesSettings: config.filesSettings,
    providers: config.providers,
    unsupportedModels: config.unsupportedModels,
    spoolDirectory: processSpoolDirectory(config.spoolDir),
  });
  // Deleted keys and files leave every instance's caches within milliseconds (LISTEN/NOTIFY).
  const bus = await InvalidationBus.start(database);
  const keys = new KeyService(new KeyRepository(database.db), config.masterKey, bus);
  const providerFiles = new ProviderFileRepository(database.db);
  const upstreamTimeouts = new Map([...config.deployments.map((deployment) => deployment.settings), ...config.filesSettings].map((settings) => [settings.instance, settings.timeoutMs]));
  const journal = new CopyJournal(new CopyJournalRepository(database.db), registry, config.journalLeaseSeconds, (id) => upstreamTimeouts.get(id));
  const files = new FilesService(registry, providerFiles, journal);
  const managedRepository = new ManagedFileRepository(database.db);
  const fileCache = new ManagedFileCache(managedRepository);
  bus.subscribe((event) => {
    if (event.kind === 'file') fileCache.invalidate(event.id);
    else if (event.kind === 'all') fileCache.clear();
  });
  const invalidate = (fileId: string) => void bus.publish('file', fileId);
  const deletion = new ManagedFileDeletion(registry, managedRepository, invalidate, config.journalLeaseSeconds);
  const remaker = new CopyRemaker(registry, managedRepository, deletion, invalidate, journal);
  const readiness = new CopyReadiness(registry, managedRepository, remaker, { waitMs: config.fileProcessingTimeoutSeconds * 1000, onChange: invalidate });
  const batchRepository = new BatchRepository(database.db);
  const batchRefreshMs = config.batchRefreshIntervalSeconds * 1000;
  const batchRefresher = new BatchRefresher(registry, batchRepository, { intervalMs: batchRefreshMs }, deletion);
  const providerEndpoints = providerOrigins([...config.deployments.map((deployment) => deployment.settings), ...config.filesSettings]);
  const referenceScan = { providerOrigins: providerEndpoints, storageForms: (value: string) => registry.storedReferenceForms(value) };
  const batchReferences = new BatchReferences(managedRepository, new RawReferenceOwner(registry, providerFiles), referenceScan);
  const batches = new BatchesService(batchRepository, new BatchInputResolver(registry, managedRepository, providerFiles, readiness, batchReferences), batchRefresher);
  const managedFiles = new ManagedFilesService(registry, managedRepository, deletion, journal, (fileId, context) => batches.beginDelete(fileId, config.journalLeaseSeconds, context), batchReferences);
  const fineTuningJobs = new FineTuningJobRepository(database.db);
  const tunedModels = new FineTunedModels(registry, fineTuningJobs);
  const fineTuning = new FineTuningService(registry, fineTuningJobs, new FineTuningPlacement(registry, managedRepository, providerFiles, readiness), (name) =>
    tunedModels.forget(name),
  );
  const fineTuningRefresher = new FineTuningRefresher(fineTuning, fineTuningJobs, { intervalMs: config.fineTuningRefreshIntervalSeconds * 1000 });
  const chat = new ChatService(registry, fileCache, providerFiles, readiness, referenceScan, tunedModels);
  let stopSweeper: (() => Promise<void>) | undefined;
  let stopBatchRefresher: (() => Promise<void>) | undefined;
  let stopFineTuningRefresher: (() => Promise<void>) | undefined;
  // Every runtime that uploads (CLI, tests, SDK) keeps its journal rows leased while it lives.
  const stopHeartbeat = journal.startHeartbeat({ requestId: 'journal-heartbeat', logger: silentLogger });
  // Spools of processes that died (crash, SIGKILL) are removed before this one spools anything.
  await removeStaleSpools(config.spoolDir);
  return {
    config,
    database,
    registry,
    keys,
    files,
    managedFiles,
    chat,
    fineTuning,
    batches,
    batchRefresher,
    fineTuningRefresher,
    deletion,
    rekeyed,
    journal,
    uploadSlots: new UploadSlots(config.maxConcurrentUploadsPerKey),
    spoolDirectory: processSpoolDirectory(config.spoolDir),
    startBackgroundWork(logger) {
      stopSweeper ??= startSweeper({
        passes: {
          // Instances of an older version still running (rolling upgrade) may write under old ids.
          ...(renames.length > 0 ? { deploymentIds: () => rekeyDeployments(database.db, renames) } : {}),
          deletes: (context) => deletion.sweepOnce(context),
          journal: (context) => journal.reconcileOnce(context),
        },
        intervalSeconds: config.sweeperIntervalSeconds,
        context: { requestId: 'sweeper', logger },
      });
      stopBatchRefresher ??= startBatchRefresher(batchRefresher, { intervalMs: batchRefreshMs, logger });
      stopFineTuningRefresher ??= fineTuningRefresher.start(logger);
    },
    async close() {
      stopHeartbeat();
      await stopSweeper?.();
      await stopBatchRefresher?.();
      await stopFineTuningRefresher?.();
      await rm(processSpoolDirectory(config.spoolDir), { recursive: true, force: true });
      await tunedModels.close();
      await registry.close();
      await bus.close();
      await database.close();
    },
  };
}

const silentLogger: AdapterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
