/**
 * The contract every provider adapter fulfils. Adapters speak one provider's wire format and
 * deal only in provider ids: unified ids, ownership and the database belong to services.
 * Capabilities are optional; a missing one makes the service answer 400 "not supported".
 */
import type { Readable } from 'node:stream';
import type { FineTuningCheckpointPage, FineTuningEvent, FineTuningJob, FineTuningPage } from '../core/fine-tuning-types.ts';
import type { BatchErrors, BatchRequestCounts, BatchStatus, BatchTimestamps } from '../core/batch-types.ts';
import type { ExpiresAfter, FileDeleted, FileList, FileObject } from '../core/openai-types.ts';

/** A provider's kind, e.g. `openai`; the known ones are the kinds of provider-list.ts. */
export type ProviderKind = string;

export type { AdapterLogger, CallContext } from '../core/call-context.ts';
import type { CallContext } from '../core/call-context.ts';
import type { JsonAnswer, SsePassthrough } from '../core/raw-json.ts';
import type { FileIdMapping } from './shared/batch-jsonl.ts';

/** A file body that can be opened more than once (retries, fan-out), e.g. a spooled temp file. */
export interface UploadBody {
  /** Opens a fresh stream over the whole body. */
  open(): Readable;
  /** Exact byte length when known; undefined means stream with chunked encoding. */
  bytes: number | undefined;
  /**
   * When `bytes` is unknown: at most this many bytes (e.g. what remains of a client's request whose
   * Content-Length is known). A multipart body then declares its length up front and fills what the
   * file fell short by after its closing delimiter — the epilogue, which receivers ignore (RFC 2046
   * §5.1.1) — instead of going out chunked (multipart-body.ts).
   */
  bytesAtMost?: number | undefined;
  /**
   * With `bytesAtMost`: the multipart boundary of the client's form the file came in. Its
   * delimiter is not in the file's bytes (the form was split on it, RFC 2046 §5.1.1), and
   * `bytesAtMost` ends with the client's closing delimiter, so a multipart body that reuses the
   * boundary knows its exact length when the client sent nothing else after the file (multipart-body.ts).
   */
  boundary?: string | undefined;
}

export interface UploadInput {
  body: UploadBody;
  /** Filename as the client sent it. */
  filename: string;
  /** MIME type of the file content. */
  mimeType: string;
  /** OpenAI purpose, already validated. */
  purpose: string;
  /** OpenAI expiry, already validated. */
  expiresAfter?: ExpiresAfter;
  /**
   * Adapters that choose the provider id themselves (Vertex: the gs:// URI) call this with it
   * before sending any byte, so the caller can journal it and take the copy back after a crash
   * (services/copy-journal.ts). Adapters whose provider picks the id ignore it.
   */
  reserveId?: (providerFileId: string) => Promise<void>;
}

/** The fields of an upload that only arrive after its file part (the OpenAI SDKs send the file first). */
export interface LateUploadFields {
  purpose: string;
  expiresAfter?: ExpiresAfter | undefined;
}

export interface ListQuery {
  purpose?: string;
  limit?: number;
  order?: 'asc' | 'desc';
  after?: string;
}

/** A streamed file body from upstream. */
export interface ContentStream {
  body: Readable;
  contentType: string;
  /** Byte length when the provider sent one. */
  contentLength?: number;
}

/** What a managed upload hands each deployment before it stores its copy. */
export interface UploadShapingInput {
  /** The original bytes (re-openable). */
  body: UploadBody;
  purpose: string;
  filename: string;
  mimeType: string;
  /**
   * Batch files: unified file id → this deployment's provider file id, for every managed file
   * the lines name (checked as the caller's beforehand, services/batch-references.ts) — a map at
   * upload (a line naming a unified id missing from it is refused), or a lookup when a copy is
   * re-made later (copy-remake.ts).
   */
  fileIds?: FileIdMapping;
}

export interface FilesCapability {
  /**
   * The bytes this deployment should store for a managed upload, when they differ from the
   * original (e.g. batch JSONL whose lines must name this deployment's model). Undefined: store
   * the original. The service records such copies as transformed and never serves their bytes
   * as the file's content.
   */
  shapeUpload?(input: UploadShapingInput): UploadBody | undefined;
  /** Uploads and returns the provider's object normalised to an OpenAI FileObject with the provider id. */
  upload(input: UploadInput, context: CallContext): Promise<FileObject>;
  /**
   * Starts an upload before its fields are known, where the provider's wire format lets the
   * fields follow the file (multipart/form-data). `fields` resolves once the client's form is
   * complete; when it rejects instead, the request is abandoned before its body completes, so the
   * provider stores nothing. Providers without it are uploaded to once the form is complete.
   */
  uploadFieldsLast?(
    input: Omit<UploadInput, 'purpose' | 'expiresAfter'> & { fields: Promise<LateUploadFields> },
    context: CallContext,
  ): Promise<FileObject>;
  /** One page of the provider's list, normalised (always carries first_id, last_id, has_more). */
  list(query: ListQuery, context: CallContext): Promise<FileList>;
  retrieve(fileId: string, context: CallContext): Promise<FileObject>;
  delete(fileId: string, context: CallContext): Promise<FileDeleted>;
  content(fileId: string, context: CallContext): Promise<ContentStream>;
}

export interface ProviderAdapter {
  /** Deployment id (or `files_settings:<provider>`): keys the id mapping and appears in errors. */
  readonly instance: string;
  /** Which provider this adapter speaks. */
  readonly kind: ProviderKind;
  /** Files API, when the provider stores files. */
  readonly files?: FilesCapability;
  /** Chat completions. */
  readonly chat?: ChatCapability;
  /** Fine-tuning jobs (OpenAI, Azure OpenAI), when the provider trains models. */
  readonly fineTuning?: FineTuningCapability;
  /** Batch jobs (README "Batches"): OpenAI/Azure Batch API, Vertex batchPredictionJobs. */
  readonly batches?: BatchesCapability;
  /** Releases connection pools. */
  close(): Promise<void>;
}

/** Where a unified file id lives on each deployment (deployment id → provider file). */
export interface FileReferenceTargets {
  [deploymentId: string]: {
    /** OpenAI/Azure file id, gs:// URI for Vertex, `file-gemini-…` for the Gemini API. */
    providerFileId: string;
    mimeType: string;
  };
}

export interface ChatRequest {
  /**
   * The OpenAI chat completion body as the client sent it, with `model` already set to the
   * deployment's own model (or Azure deployment name). File parts still carry unified ids;
   * the adapter's converter looks them up in `fileReferences` under its own instance.
   */
  body: Record<string, unknown> & { messages: unknown[] };
  /** unified file id → where it lives on each deployment. */
  fileReferences: Record<string, FileReferenceTargets>;
}

export interface ChatCapability {
  /**
   * A non-streaming completion, in OpenAI's chat.completion shape: an object a converter built,
   * or (OpenAI, Azure) the provider's own JSON text passed on unchanged (RawJson).
   */
  complete(request: ChatRequest, context: CallContext): Promise<JsonAnswer>;
  /**
   * A streaming completion. Resolves once the upstream answered with a success status (so a
   * failure before the first byte can still be retried elsewhere), then yields OpenAI
   * chat.completion.chunk objects (or their JSON text, as for `complete`); the caller writes the
   * SSE framing and `[DONE]`.
   */
  stream(request: ChatRequest, context: CallContext): Promise<AsyncIterable<JsonAnswer>>;
  /**
   * Optional, the same stream written to the client as it arrives: blocks of `data: …\n\n`
   * events, byte for byte what `stream` plus the caller's framing would give, without `[DONE]`.
   * For a provider whose events pass on unchanged (OpenAI, Azure), so the gateway forwards each
   * upstream read in one piece, from the upstream's read straight to the client's response.
   * Resolves, like `stream`, once the upstream answered with a success status.
   */
  streamSse?(request: ChatRequest, context: CallContext): Promise<SsePassthrough>;
}

/** What a fine-tuning job is created with, in this provider's own ids and names. */
export interface FineTuningCreateInput {
  /** The provider's base model (OpenAI model id, Azure deployment name of the deployment). */
  model: string;
  /** The provider's id of the training file (purpose fine-tune, JSONL). */
  trainingFile: string;
  /** The provider's id of the validation file, when one is given. */
  validationFile?: string;
  /** OpenAI's (deprecated but accepted) `hyperparameters`, passed through as given. */
  hyperparameters?: Record<string, unknown>;
  /** Up to 64 characters added to the fine-tuned model name. */
  suffix?: string;
  /** Reproducibility seed, passed through. */
  seed?: number;
  /** `{type, supervised|dpo|reinforcement: {hyperparameters}}`, passed through. */
  method?: Record<string, unknown>;
  /** Up to 16 string pairs kept with the job. */
  metadata?: Record<string, string>;
}

/** A cursor page request: `after` = the last id of the previous page. */
export interface FineTuningPageQuery {
  /** Id of the last item already seen (provider id). */
  after?: string;
  /** Page size (OpenAI default 20). */
  limit?: number;
}

/** Fine-tuning jobs of one provider account (docs/wire-formats.md §1.11, Azure §2.1 `…/fine_tuning/jobs`). */
export interface FineTuningCapability {
  /** Creates a job; resolves with the provider's job object normalised to OpenAI's shape. */
  create(input: FineTuningCreateInput, context: CallContext): Promise<FineTuningJob>;
  /** The job as the provider now reports it. */
  retrieve(jobId: string, context: CallContext): Promise<FineTuningJob>;
  /** One page of the provider's jobs, newest first. */
  list(query: FineTuningPageQuery, context: CallContext): Promise<FineTuningPage<FineTuningJob>>;
  /** Asks the provider to cancel; resolves with the job as it answered. */
  cancel(jobId: string, context: CallContext): Promise<FineTuningJob>;
  /** One page of the job's events, newest first. */
  events(jobId: string, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningPage<FineTuningEvent>>;
  /** One page of the job's checkpoints, newest first (the job id in them is the provider's). */
  checkpoints(jobId: string, query: FineTuningPageQuery, context: CallContext): Promise<FineTuningCheckpointPage>;
}

/**
 * What the batches service asks a deployment to run (README "Batches"). Every reference is this
 * deployment's own: the service has already resolved unified ids and ownership.
 */
export interface BatchCreateInput {
  /**
   * This deployment's copy of the input file, exactly as recorded for it at upload (the copy's
   * `providerFileId`: an OpenAI/Azure file id, a `gs://` URI for Vertex). Its lines already name
   * this deployment's model in `body.model` (FilesCapability.shapeUpload did that at upload).
   */
  inputReference: string;
  /** OpenAI endpoint of every line, e.g. `/v1/chat/completions`, as the client sent it. */
  endpoint: string;
  /** As the client sent it (OpenAI accepts only `24h`); providers that take none ignore it. */
  completionWindow: string;
  /**
   * The client's metadata (≤16 string pairs). Adapters may forward it; the service keeps its own
   * copy and always answers with it, so a provider that drops it (Vertex) loses nothing.
   */
  metadata: Record<string, string> | null;
  /** OpenAI `output_expires_after`, when the client sent one. */
  outputExpiresAfter?: ExpiresAfter;
  /**
   * For adapters that convert lines at create (BatchesCapability.convertsLines): this deployment's
   * copy of a managed file a line names, checked as the caller's; throws (naming the line) when
   * it is not theirs or has no copy here.
   */
  resolveFile?: (fileId: string, line: number) => Promise<BatchLineFile>;
}

/** A managed file's copy on the deployment running a batch. */
export interface BatchLineFile {
  providerFileId: string;
  mimeType: string;
}

/**
 * A provider batch normalised to OpenAI's vocabulary. It carries only the provider's own ids and
 * references; the service swaps in unified ids and keeps the stored OpenAI object.
 */
export interface ProviderBatch {
  /** The provider's batch id (`batch_…`; for Vertex the job's resource name or its numeric id). */
  providerBatchId: string;
  /** The provider's state mapped to OpenAI's (e.g. Vertex RUNNING → in_progress). */
  status: BatchStatus;
  /**
   * Opaque reference to the output, meaningful only to this same adapter's `outputContent`,
   * `describeOutput` and `deleteOutput`: an OpenAI/Azure file id, or for Vertex e.g. the
   * `gs://…/prediction-…` prefix holding `predictions*.jsonl` shards. Null while there is none
   * or when the provider finished without output.
   */
  outputReference: string | null;
  /** Opaque reference to the error lines (OpenAI `error_file_id`), same rules; null if none. */
  errorReference: string | null;
  /** Lines in total / answered / failed so far (Vertex: from completionStats). */
  requestCounts: BatchRequestCounts;
  /** Lifecycle times in unix seconds; null for the ones not reached (or not reported). */
  timestamps: BatchTimestamps;
  /** Batch-level errors (`errors.data[].line` names an input line), or null. */
  errors: BatchErrors | null;
  /** The model the provider reports, when it does (never shown to clients as is). */
  model?: string | null;
  /** OpenAI `usage` when the provider reports it, else null/undefined. */
  usage?: Record<string, unknown> | null;
  /**
   * Objects the adapter made for this batch and no longer needs once it is terminal and its
   * outputs are recorded (Vertex: the converted input and the custom_ids beside it), as ids its
   * files capability deletes. Never the caller's input file.
   */
  intermediates?: string[];
}

/** The file facts the service needs to record an output reference as a managed `batch_output` file. */
export interface BatchOutputDescription {
  /** Byte length of the content `outputContent` streams (exact: it becomes the FileObject's bytes). */
  bytes: number;
  /** Filename to show, e.g. `batch_abc_output.jsonl`. */
  filename: string;
  /** Unix seconds the output was written, when known (else the service uses now). */
  createdAt?: number;
}

/** One page of the provider's own batch list (used for admin passthrough only; optional). */
export interface ProviderBatchPage {
  data: ProviderBatch[];
  hasMore: boolean;
}

/**
 * Batch jobs on one deployment. The service never interprets provider ids or output references:
 * it stores what `create`/`retrieve`/`cancel` return and gives output references back to the same
 * adapter, so each provider decides how its output is read (OpenAI/Azure: a file; Vertex: GCS
 * prediction shards converted to OpenAI batch output lines while streaming).
 */
export interface BatchesCapability {
  /**
   * True when `create` converts every line itself (Vertex): it maps unified ids through
   * `BatchCreateInput.resolveFile` and refuses other stored-data references. Otherwise the input
   * is run as stored, so the service checks a plain input's lines before creating the batch.
   */
  readonly convertsLines?: boolean;
  /** The OpenAI batch endpoints this provider runs (undefined: all of them); others are 400 before any call. */
  readonly endpoints?: readonly string[];
  /** Starts a batch over `input.inputReference`; answers the provider batch as created. */
  create(input: BatchCreateInput, context: CallContext): Promise<ProviderBatch>;
  /** The batch's current state. */
  retrieve(providerBatchId: string, context: CallContext): Promise<ProviderBatch>;
  /**
   * Asks the provider to stop the batch and answers its state (usually `cancelling`). Must be
   * safe to call again on a batch already cancelling or finished (answer its current state).
   */
  cancel(providerBatchId: string, context: CallContext): Promise<ProviderBatch>;
  /** The provider's own list, newest first (optional; managed lists come from the database). */
  list?(query: { after?: string; limit?: number }, context: CallContext): Promise<ProviderBatchPage>;
  /** Size and name of an output/error reference this adapter returned. */
  describeOutput(reference: string, context: CallContext): Promise<BatchOutputDescription>;
  /**
   * Streams an output/error reference as OpenAI batch output JSONL
   * (`{"id","custom_id","response":{"status_code","request_id","body"},"error"}` per line),
   * converting on the fly when the provider's format differs. Never buffers the whole output.
   */
  outputContent(reference: string, context: CallContext): Promise<ContentStream>;
  /** Deletes what an output/error reference points at (when its managed file is deleted). */
  deleteOutput(reference: string, context: CallContext): Promise<void>;
  /**
   * Provider objects behind a terminal batch's outputs that nothing reads once they are recorded
   * (Vertex: the prediction shards, converted into the stored output), as ids its files capability
   * deletes; never what an output reference reads. Optional: OpenAI/Azure outputs are the files.
   */
  leftovers?(batch: ProviderBatch, context: CallContext): Promise<string[]>;
}
