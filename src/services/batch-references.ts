/**
 * The files a batch's lines point at (README "Batches" and "Endpoints" (chat), per line): a provider
 * runs every line with the gateway's credentials, so a line may only name stored data the caller
 * could name in a chat request.
 *
 * References are found anywhere in a line's body, whatever its endpoint (stored-references.ts
 * requestReferences: every `file_id`/`file_ids` value and storage URI).
 *
 * - A raw provider id or storage URI must be recorded as the caller's, on
 *   a provider the batch can run on; anything else is 404 naming the line.
 * - A unified id must be the caller's managed file (else 404 naming the line) and have a copy on
 *   the deployment that runs the line; it is replaced by that copy's provider id — at upload for
 *   OpenAI/Azure, whose stored copy is the batch input (`uploadCheck` + FilesCapability
 *   .shapeUpload), at batch create for Vertex, whose converter asks `resolver`.
 * - A batch input the gateway did not check at upload (a plain file uploaded straight to the
 *   provider) is read once at create and held to the same rules (`checkPlainInput`); it cannot
 *   carry unified ids, since nothing rewrites its lines.
 * - A managed batch file uploaded before its lines were recorded as checked (managed_files
 *   .batch_line_url null, migrations/0008) is read once at its first batch create and held to the
 *   same rules (`checkStoredInput`): its OpenAI/Azure copies were never rewritten, so there it
 *   may not carry unified ids either.
 */
import { canReach, type Principal } from '../core/access-policy.ts';
import { errors } from '../core/errors.ts';
import { jsonlLines } from '../core/jsonl-lines.ts';
import type { ManagedFileRepository } from '../persistence/managed-file-repository.ts';
import type { BatchLineFile } from '../providers/provider-adapter.ts';
import type { RawReferenceOwner } from './raw-reference-owner.ts';
import { BatchLineUrls } from './batch-line-urls.ts';
import { requestReferences, type ReferenceScanOptions, type StoredReference } from './stored-references.ts';

const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Distinct raw references remembered as owned per check (a batch repeats the same few). */
const OWNED_MEMORY = 10_000;

/** What a checked batch file's lines hold (managed_files.batch_line_url / batch_line_files). */
export interface BatchLineFacts {
  /** The url every line names. */
  url: string;
  /** The managed file ids the lines name. */
  files: string[];
}

export interface LineDeployment {
  id: string;
  provider: string;
  modelName: string;
}


export class BatchReferences {
  constructor(
    private readonly managedFiles: ManagedFileRepository,
    private readonly owner: RawReferenceOwner,
    private readonly scan: ReferenceScanOptions,
  ) {}

  /** The check of a managed batch upload going to `deployments`; fed every parsed line in order. */
  uploadCheck(principal: Principal, deployments: readonly LineDeployment[]): UploadReferenceCheck {
    return new UploadReferenceCheck(this, principal, deployments);
  }

  /** Raw references of one line: each must be the caller's on one of `providers`. */
  async checkRaw(principal: Principal, references: readonly StoredReference[], line: number, context: { providers: ReadonlySet<string>; owned: Set<string>; param: string }): Promise<void> {
    for (const reference of references) {
      if (reference.kind !== 'raw' || context.owned.has(reference.value)) continue;
      if (!(await this.owner.owns(principal, reference.lookupIds, context.providers))) throw errors.batchLineFileNotFound(line, reference.value, context.param);
      if (context.owned.size < OWNED_MEMORY) context.owned.add(reference.value);
    }
  }

  /** Every stored-data reference in the line's body, whatever its endpoint (stored-references.ts). */
  references(request: unknown): StoredReference[] {
    const body = request && typeof request === 'object' ? (request as { body?: unknown }).body : undefined;
    return body && typeof body === 'object' ? requestReferences(body, this.scan) : [];
  }

  /** The caller's managed file `fileId`, with its copies; 404 naming the line otherwise. */
  async managed(principal: Principal, fileId: string, line: number, param: string) {
    const found = await this.managedFiles.findVisible(fileId);
    if (!found || !canReach(principal, found.file)) throw errors.batchLineFileNotFound(line, fileId, param);
    return found;
  }

  /**
   * For a batch running on `deployment`: the copy there of each managed file a line names (Vertex
   * converts lines at create, BatchCreateInput.resolveFile). Lookups are remembered per batch.
   */
  resolver(principal: Principal, deployment: { id: string; modelName: string | null }): (fileId: string, line: number) => Promise<BatchLineFile> {
    const resolved = new Map<string, BatchLineFile>();
    return async (fileId, line) => {
      const known = resolved.get(fileId);
      if (known) return known;
      const found = await this.managed(principal, fileId, line, 'input_file_id');
      const copy = found.copies.find((row) => row.deploymentId === deployment.id && row.reader === 'file');
      if (!copy) throw notOnDeployment(line, fileId, deployment.modelName ?? deployment.id, found.file.targetModelNames, 'input_file_id');
      const target = { providerFileId: copy.providerFileId, mimeType: found.file.mimeType };
      resolved.set(fileId, target);
      return target;
    };
  }

  /**
   * A plain batch input (not checked at upload), read from its provider before the batch is
   * created: no unified ids, and raw references only the caller's on `provider`. Answers the url
   * its lines name. Admins skip it (undefined).
   */
  async checkPlainInput(principal: Principal, provider: string, source: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<string | undefined> {
    if (principal.isAdmin) {
      source.destroy?.();
      return undefined;
    }
    const facts = await this.checkLines(principal, { provider, unifiedIds: 'refuse', stored: false }, source);
    return facts.url;
  }

  /**
   * A managed batch file whose lines were never recorded as checked (uploaded before that was
   * done), read from the copy that runs the batch: the chat rules for every reference on
   * `provider`; unified ids only where the adapter maps them itself (`convertsLines`), since
   * nothing rewrote the other copies.
   */
  async checkStoredInput(principal: Principal, deployment: { provider: string; convertsLines: boolean }, source: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<BatchLineFacts> {
    const facts = await this.checkLines(principal, { provider: deployment.provider, unifiedIds: deployment.convertsLines ? 'collect' : 'refuse', stored: true }, source);
    if (facts.url === undefined) throw errors.invalidValue('input_file_id', 'The batch file has no requests (a batch file is JSONL: one request per line).');
    return { url: facts.url, files: facts.files };
  }

  /** One streaming pass over a stored batch input: memory is one line and the remembered ids. */
  private async checkLines(
    principal: Principal,
    rules: { provider: string; unifiedIds: 'refuse' | 'collect'; stored: boolean },
    source: AsyncIterable<Buffer> & { destroy?: () => void },
  ): Promise<{ url: string | undefined; files: string[] }> {
    const context = { providers: new Set([rules.provider]), owned: new Set<string>(), param: 'input_file_id' };
    const urls = new BatchLineUrls('input_file_id');
    const files = new Set<string>();
    try {
      const lines = jsonlLines(source, { maxLineBytes: MAX_LINE_BYTES, tooLong: (number) => errors.invalidValue('input_file_id', `Line ${number} of the batch file is longer than 64 MB.`) });
      for await (const { line, number } of lines) {
        if (line.trim() === '') continue;
        let request: unknown;
        try {
          request = JSON.parse(line);
        } catch {
          continue; // the provider answers a line that is not JSON itself
        }
        if (!request || typeof request !== 'object' || Array.isArray(request)) continue;
        urls.line(request as Record<string, unknown>, number);
        const references = this.references(request);
        for (const reference of references) {
          if (reference.kind !== 'managed') continue;
          if (rules.unifiedIds === 'refuse') {
            const why = rules.stored
              ? 'this batch file was uploaded before the gateway mapped such references in it; upload it again'
              : 'only a managed batch file (uploaded with target_model_names) may do that';
            throw errors.invalidValue('input_file_id', `Line ${number} of the batch file refers to the managed file ${reference.value}; ${why}.`);
          }
          if (files.has(reference.value)) continue;
          await this.managed(principal, reference.value, number, 'input_file_id');
          if (files.size >= OWNED_MEMORY) throw errors.invalidValue('input_file_id', `Line ${number} of the batch file names more than ${OWNED_MEMORY} different files.`);
          files.add(reference.value);
        }
        await this.checkRaw(principal, references, number, context);
      }
    } finally {
      source.destroy?.();
    }
    return { url: urls.url, files: [...files] };
  }
}

/** One managed batch upload's line check; afterwards, each deployment's unified → provider ids. */
export class UploadReferenceCheck {
  /** Unified id → deployment id → that deployment's provider file id. */
  private readonly files = new Map<string, Map<string, string>>();
  private readonly raw: { providers: ReadonlySet<string>; owned: Set<string>; param: string };

  constructor(
    private readonly references: BatchReferences,
    private readonly principal: Principal,
    private readonly deployments: readonly LineDeployment[],
  ) {
    this.raw = { providers: new Set(deployments.map((deployment) => deployment.provider)), owned: new Set(), param: 'file' };
  }

  /** Undefined (nothing to wait for) when the line names no file: the common case stays synchronous. */
  line(request: unknown, number: number): Promise<void> | undefined {
    const found = this.references.references(request);
    return found.length === 0 ? undefined : this.check(found, number);
  }

  private async check(found: StoredReference[], number: number): Promise<void> {
    await this.references.checkRaw(this.principal, found, number, this.raw);
    for (const reference of found) {
      if (reference.kind !== 'managed' || this.files.has(reference.value)) continue;
      const managed = await this.references.managed(this.principal, reference.value, number, 'file');
      const byDeployment = new Map<string, string>();
      for (const deployment of this.deployments) {
        const copy = managed.copies.find((row) => row.deploymentId === deployment.id && row.reader === 'file');
        if (!copy) throw notOnDeployment(number, reference.value, deployment.modelName, managed.file.targetModelNames, 'file');
        byDeployment.set(deployment.id, copy.providerFileId);
      }
      this.files.set(reference.value, byDeployment);
    }
  }

  /** The managed file ids the lines name (recorded with the file: batch_line_files). */
  managedFileIds(): string[] {
    return [...this.files.keys()];
  }

  /** The ids to write into `deploymentId`'s copy of the batch file (empty: the lines name none). */
  fileIdsFor(deploymentId: string): Record<string, string> {
    const ids: Record<string, string> = {};
    for (const [fileId, byDeployment] of this.files) ids[fileId] = byDeployment.get(deploymentId)!;
    return ids;
  }
}

function notOnDeployment(line: number, fileId: string, modelName: string, uploadedFor: readonly string[], param: string) {
  return errors.invalidValue(
    param,
    `Line ${line} of the batch file refers to file ${fileId}, which is not available for model '${modelName}' (it was uploaded for: ${uploadedFor.join(', ')}). Upload it with target_model_names including '${modelName}'.`,
  );
}
