/**
 * The parent's handle on an emulators child process (emulators-main.ts): base URLs, the
 * service account it minted, and the control routes `/__emulator/calls|reset`.
 */
import type { RecordedCall } from '../../src/emulators/emulator-kit.ts';
import type { StoredGcsObject } from '../../src/emulators/google-emulator.ts';
import { jsonRequest, spawnNode, type NodeChild } from './child-process.ts';

export const OPENAI_KEY = 'sk-emulator-openai';
export const OPENAI2_KEY = 'sk-emulator-openai-2';
export const AZURE_KEY = 'azure-emulator-key';
export const VERTEX_PROJECT = 'bench-project';

export type EmulatorName = 'openai' | 'openai2' | 'azure' | 'google';

/** The JSON line emulators-main.ts prints once every server listens. */
export interface EmulatorsReady {
  event: 'ready';
  pid: number;
  /** Server root URLs (no /v1) of the emulators that were asked for. */
  urls: Partial<Record<EmulatorName, string>>;
  serviceAccount?: Record<string, unknown>;
}

export interface EmulatorProcess extends EmulatorsReady {
  process: NodeChild;
  url(name: EmulatorName): string;
  calls(name: EmulatorName): Promise<RecordedCall[]>;
  /** Clears calls and stored files (frees the disk a 1 GiB upload took). */
  reset(name: EmulatorName): Promise<void>;
  gcsObjects(): Promise<StoredGcsObject[]>;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(services: EmulatorName[]): Promise<EmulatorProcess> {
  const child = spawnNode(['--import', 'tsx', 'bench/support/emulators-main.ts', '--services', services.join(',')]);
  const ready = JSON.parse(await child.waitForLine((line) => line.startsWith('{"event":"ready"'))) as EmulatorsReady;
  if (ready.pid !== child.pid) throw new Error(`emulators answered from pid ${ready.pid}, spawned ${child.pid}`);
  const url = (name: EmulatorName): string => {
    const found = ready.urls[name];
    if (!found) throw new Error(`emulator '${name}' was not started`);
    return found;
  };
  return {
    ...ready,
    process: child,
    url,
    calls: (name) => jsonRequest<RecordedCall[]>(`${url(name)}/__emulator/calls`),
    reset: async (name) => void (await jsonRequest(`${url(name)}/__emulator/reset`, { method: 'POST' })),
    async gcsObjects() {
      const from = child.lines.length;
      child.child.stdin!.write('objects\n');
      const line = await child.waitForLine((text) => text.startsWith('{"event":"objects"'), { from });
      return (JSON.parse(line) as { objects: StoredGcsObject[] }).objects;
    },
    stop: () => child.stop(),
  };
}

/** The newest recorded multipart upload on an OpenAI emulator: its file part summary. */
export function lastUploadedPart(calls: RecordedCall[]): { bytes: number; sha256: string; status: number } {
  const call = calls.filter((item) => item.method === 'POST' && item.path === '/v1/files').at(-1);
  const part = call?.form?.files[0];
  if (!call || !part) throw new Error('the emulator recorded no file upload');
  return { bytes: part.bytes, sha256: part.sha256, status: call.status };
}
