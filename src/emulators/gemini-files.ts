/**
 * Gemini Files API routes other than the upload (docs/wire-formats.md §4.4):
 *   GET    /v1beta/files/{id}                    → File
 *   GET    /v1beta/files?pageSize=&pageToken=    → {files?, nextPageToken?} (pageSize 10 by default, at most 100)
 *   DELETE /v1beta/files/{id}                    → {}
 *   GET    /v1beta/files/{id}:download           → 400: uploaded files cannot be downloaded
 * Unknown, expired and other projects' files answer 403 PERMISSION_DENIED, as the API does.
 */
import type { EmulatorExchange } from './emulator-exchange.ts';
import { geminiError, noSuchFile } from './gemini-errors.ts';
import type { GeminiFiles } from './gemini-files-store.ts';

const FILE_PATH = /^\/v1beta\/files\/([^/:]+)(:download)?$/;

/** Answers the call when it is a Files API route; false otherwise. */
export async function handleGeminiFiles(input: { exchange: EmulatorExchange; files: GeminiFiles; project: string; baseUrl: string }): Promise<boolean> {
  const { exchange, files, project, baseUrl } = input;
  if (exchange.path === '/v1beta/files' && exchange.method === 'GET') {
    await list(input);
    return true;
  }
  const match = FILE_PATH.exec(exchange.path);
  if (!match) return false;
  const id = decodeURIComponent(match[1]!);
  const file = files.get(id, project);
  if (match[2] !== undefined) {
    if (exchange.method !== 'GET') return false;
    if (!file) await exchange.sendJson(403, noSuchFile(id));
    else await exchange.sendJson(400, geminiError(400, `Only generated files can be downloaded; files/${id} was uploaded.`, 'FAILED_PRECONDITION'));
    return true;
  }
  if (exchange.method === 'GET') {
    await (file ? exchange.sendJson(200, files.resource(file, baseUrl)) : exchange.sendJson(403, noSuchFile(id)));
    return true;
  }
  if (exchange.method === 'DELETE') {
    if (!file) {
      await exchange.sendJson(403, noSuchFile(id));
      return true;
    }
    files.delete(id);
    await exchange.sendJson(200, {});
    return true;
  }
  return false;
}

async function list(input: { exchange: EmulatorExchange; files: GeminiFiles; project: string; baseUrl: string }): Promise<void> {
  const { exchange, files, project, baseUrl } = input;
  const sizeText = exchange.query.get('pageSize');
  let pageSize = 10;
  if (sizeText !== null && sizeText !== '') {
    if (!/^\d+$/.test(sizeText)) return exchange.sendJson(400, geminiError(400, `Invalid value at 'page_size' (TYPE_INT32), "${sizeText}"`));
    pageSize = Math.min(100, Number(sizeText) || 10); // 0 means the default; more than 100 is capped
  }
  const live = files.list(project);
  let start = 0;
  const token = exchange.query.get('pageToken');
  if (token) {
    // The token names the last file of the previous page; it must still make sense.
    const after = Buffer.from(token, 'base64url').toString('utf8');
    const index = live.findIndex((file) => file.id === after);
    if (index === -1) return exchange.sendJson(400, geminiError(400, 'Invalid page token.'));
    start = index + 1;
  }
  const page = live.slice(start, start + pageSize);
  const body: Record<string, unknown> = {};
  // An empty list is `{}`: proto3 JSON leaves out empty repeated fields.
  if (page.length > 0) body.files = page.map((file) => files.resource(file, baseUrl));
  if (start + pageSize < live.length) body.nextPageToken = Buffer.from(page[page.length - 1]!.id).toString('base64url');
  await exchange.sendJson(200, body);
}
