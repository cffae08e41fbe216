/** OpenAI wire objects the gateway returns (docs/wire-formats.md §1.3, §1.5, §1.6). */

export const FILE_PURPOSES = [
  'assistants',
  'assistants_output',
  'batch',
  'batch_output',
  'fine-tune',
  'fine-tune-results',
  'vision',
  'user_data',
  'evals',
] as const;

/** Purposes a client may upload with (OpenAI's CreateFileRequest enum). */
export const UPLOAD_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;

export type FileStatus = 'uploaded' | 'processed' | 'error';

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: FileStatus;
  expires_at: number | null;
  status_details: string | null;
  /** Managed files only: the model names the file was uploaded for (a gateway extension; the OpenAI clients keep unknown fields). */
  target_model_names?: string[];
}

export interface FileList {
  object: 'list';
  data: FileObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface FileDeleted {
  id: string;
  object: 'file';
  deleted: true;
}

export interface ExpiresAfter {
  anchor: 'created_at';
  seconds: number;
}

/** Builds a list page with the paging fields OpenAI always sends. */
export function listPage(data: FileObject[], hasMore: boolean): FileList {
  return {
    object: 'list',
    data,
    first_id: data.length > 0 ? data[0]!.id : null,
    last_id: data.length > 0 ? data[data.length - 1]!.id : null,
    has_more: hasMore,
  };
}
