/**
 * The composition root: opens the database, builds the adapters and the services from a
 * loaded config. The HTTP app, the CLI and the SDK's Gateway all start from here.
 */
import type { GatewayConfig } from './config/load-config.ts';
import { openDatabase, type Database } from './persistence/database.ts';
import { KeyRepository } from './persistence/key-repository.ts';
import { ProviderFileRepository } from './persistence/provider-file-repository.ts';
import { ProviderRegistry } from './providers/registry.ts';
import { FilesService } from './services/files-service.ts';
import { KeyService } from './services/key-service.ts';

export interface Runtime {
  config: GatewayConfig;
  database: Database;
  registry: ProviderRegistry;
  keys: KeyService;
  files: FilesService;
  close(): Promise<void>;
}

export async function createRuntime(config: GatewayConfig): Promise<Runtime> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const registry = new ProviderRegistry({ deployments: config.deployments, filesSettings: config.filesSettings });
  const keys = new KeyService(new KeyRepository(database.db), config.masterKey);
  const files = new FilesService(registry, new ProviderFileRepository(database.db));
  return {
    config,
    database,
    registry,
    keys,
    files,
    async close() {
      await registry.close();
      await database.close();
    },
  };
}
