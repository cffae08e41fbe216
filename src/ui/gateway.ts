/**
 * The page's calls to its own gateway (same origin, key in `Authorization: Bearer`). Errors carry
 * the gateway's own message from the OpenAI error envelope `{error: {message}}`.
 */

export interface FileObject {
  id: string;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  expires_at: number | null;
  target_model_names?: string[];
}

export interface FileList {
  data: FileObject[];
  last_id: string | null;
  has_more: boolean;
}

export interface Session {
  user_id: string | null;
  team_id: string | null;
  is_admin: boolean;
  master_key: boolean;
  models: string[];
}

export interface NewKey {
  key: string;
  user_id?: string | null;
}

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The gateway's message from an error body, else a plain description of the status. */
function errorFrom(status: number, text: string): GatewayError {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string' && body.error.message) return new GatewayError(body.error.message, status);
  } catch {
    // not JSON: fall through
  }
  return new GatewayError(status === 0 ? 'The gateway cannot be reached.' : `The gateway answered ${status}.`, status);
}

export class Gateway {
  constructor(private readonly key: string) {}

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new GatewayError('The gateway cannot be reached.', 0);
    }
    if (!response.ok) throw errorFrom(response.status, await response.text());
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.call(method, path, body)).json()) as T;
  }

  session(): Promise<Session> {
    return this.json('GET', '/ui/session');
  }

  async models(): Promise<string[]> {
    const list = await this.json<{ data: Array<{ id: string }> }>('GET', '/v1/models');
    return list.data.map((model) => model.id);
  }

  listFiles(limit: number, after: string | null): Promise<FileList> {
    const query = new URLSearchParams({ limit: String(limit), order: 'desc' });
    if (after) query.set('after', after);
    return this.json('GET', `/v1/files?${query}`);
  }

  async deleteFile(id: string): Promise<void> {
    await this.call('DELETE', `/v1/files/${encodeURIComponent(id)}`);
  }

  /** The file's bytes as a Blob (Chromium keeps large blobs on disk, not in the page's heap). */
  async download(id: string): Promise<Blob> {
    return (await this.call('GET', `/v1/files/${encodeURIComponent(id)}/content`)).blob();
  }

  createKey(body: { user_id?: string; models?: string[]; duration?: string }): Promise<NewKey> {
    return this.json('POST', '/key/generate', body);
  }

  createUser(body: { user_id?: string; models?: string[]; duration?: string }): Promise<NewKey> {
    return this.json('POST', '/user/new', body);
  }

  /**
   * A managed upload with XMLHttpRequest, whose upload progress events report the bytes sent.
   * The browser streams the File from disk into the multipart body: the page never reads it.
   * The routing fields come before the file part, so the gateway can fan out while it streams.
   */
  upload(file: File, purpose: string, models: string[], onProgress: (sent: number, total: number) => void): Promise<FileObject> {
    const form = new FormData();
    form.append('purpose', purpose);
    form.append('target_model_names', models.join(','));
    form.append('file', file, file.name);
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', '/v1/files');
      request.setRequestHeader('authorization', `Bearer ${this.key}`);
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      request.addEventListener('load', () => {
        if (request.status >= 200 && request.status < 300) {
          try {
            resolve(JSON.parse(request.responseText) as FileObject);
          } catch {
            reject(new GatewayError('The gateway sent an answer that is not JSON.', request.status));
          }
        } else reject(errorFrom(request.status, request.responseText));
      });
      request.addEventListener('error', () => reject(new GatewayError('The upload failed: the connection to the gateway broke.', 0)));
      request.addEventListener('abort', () => reject(new GatewayError('The upload was cancelled.', 0)));
      request.send(form);
    });
  }
}
