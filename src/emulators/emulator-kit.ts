/**
 * Shared machinery of the provider emulators: a plain node:http server on 127.0.0.1 that
 * records every call, applies scripted faults, serves the control routes and never crashes
 * on aborted or malformed requests. Each emulator supplies only its routes.
 *
 * Control routes (never recorded, never faulted), for out-of-process scripts:
 *   GET    /__emulator/calls   → JSON array of RecordedCall
 *   POST   /__emulator/faults  → add a rule (JSON FaultRule; path may be {"regex": "..."},
 *                                times may be "Infinity")
 *   DELETE /__emulator/faults  → remove all rules
 *   POST   /__emulator/reset   → clear calls, faults and stored state
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmulatorBodyError, EmulatorExchange } from './emulator-exchange.ts';
import { FaultList, faultRuleFromJson, type FaultAction, type FaultController } from './emulator-faults.ts';

export { EmulatorBodyError, EmulatorExchange } from './emulator-exchange.ts';
export { faultRuleFromJson } from './emulator-faults.ts';
export type { FaultAction, FaultController, FaultRule } from './emulator-faults.ts';
export { FileStore, type StoredBlob } from './emulator-files-store.ts';
export { MultipartError, parseMultipart, saveBodyToFile } from './emulator-multipart.ts';
export type { ParsedForm, ReceivedFile, SavedBody } from './emulator-multipart.ts';

/** One call as the emulator received and answered it. */
export interface RecordedCall {
  /** 1-based arrival order (control routes excluded). */
  seq: number;
  method: string;
  /** Pathname without the query, still percent-encoded. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Parsed JSON body, when the route reads JSON. */
  json?: unknown;
  /** Multipart form: text fields (repeatable) and summaries of the file parts. */
  form?: {
    fields: Record<string, string[]>;
    files: Array<{ field: string; filename: string; contentType: string; bytes: number; sha256: string }>;
  };
  /** Size and sha256 (hex) of the raw request body as received (after chunked decoding). */
  bodyBytes: number;
  bodySha256: string;
  /** Status sent; 0 when the connection closed without an answer (drop fault, client abort). */
  status: number;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`, no trailing slash. Each emulator documents its api_base from it. */
  url: string;
  /** Recorded calls, oldest first (a live array: it grows as calls finish). */
  calls: RecordedCall[];
  faults: FaultController;
  /** Clears calls, faults and stored state. */
  reset(): void;
  close(): Promise<void>;
}

export type EmulatorHandler = (exchange: EmulatorExchange) => Promise<void>;

export interface EmulatorServerOptions {
  /** Short name used for the temp directory (`unifile-<name>-XXXX`). */
  name: string;
  port?: number;
  handler: EmulatorHandler;
  /** Headers for every answer (normal, error or fault), e.g. a fresh request id. */
  responseHeaders?: () => Record<string, string>;
  /**
   * The provider's own error body when a handler throws: status 500, or the status of an
   * uncaught EmulatorBodyError (bad JSON 400, body too large 413).
   */
  internalErrorBody?: (error: unknown) => unknown;
  /** Clears the emulator's stored state (called by reset). */
  onReset?: () => void;
  /**
   * Extra control routes of one emulator (e.g. moving its clock): gets `"METHOD /__emulator/…"`
   * and the parsed JSON body; returns the JSON answer, or undefined for an unknown route.
   */
  control?: (route: string, body: unknown) => unknown;
}

export interface EmulatorServer extends Emulator {
  /** Per-emulator temporary directory (removed on close). */
  tempDir: string;
  /**
   * Resolves with the first recorded call (already recorded or yet to come) that satisfies
   * `predicate`; rejects after `timeoutMs` (default 5000). For waiting on background or
   * aborted calls without sleeping.
   */
  waitForCall(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
}

/** Starts the server on 127.0.0.1 (port 0 = any free port) and resolves once it listens. */
export async function startEmulatorServer(options: EmulatorServerOptions): Promise<EmulatorServer> {
  const tempDir = await mkdtemp(join(tmpdir(), `unifile-${options.name}-`));
  const calls: RecordedCall[] = [];
  const faults = new FaultList();
  const closing = new AbortController();
  const waiters = new Set<(call: RecordedCall) => void>();
  let sequence = 0;

  const reset = (): void => {
    calls.length = 0;
    sequence = 0;
    faults.clear();
    options.onReset?.();
  };

  const server = createServer((request, response) => {
    request.on('error', () => {});
    response.on('error', () => {});
    const url = new URL(request.url ?? '/', 'http://emulator.invalid');
    if (url.pathname.startsWith('/__emulator/')) {
      void serveControl({ request, response, path: url.pathname, calls, faults, reset, control: options.control });
      return;
    }
    sequence += 1;
    const exchange = new EmulatorExchange({
      request,
      response,
      url,
      sequence,
      tempDir,
      responseHeaders: options.responseHeaders?.() ?? {},
      record: (call) => {
        calls.push(call);
        for (const waiter of [...waiters]) waiter(call);
      },
    });
    void handle(exchange, faults.take(exchange.method, exchange.path), options, closing.signal);
  });
  // Malformed HTTP from a client must not take the emulator down.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    faults,
    tempDir,
    reset,
    waitForCall(predicate, timeoutMs = 5000) {
      const found = calls.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<RecordedCall>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching emulator call within ${timeoutMs} ms`));
        }, timeoutMs).unref(); // never keeps a closed emulator's process alive
        const waiter = (call: RecordedCall): void => {
          if (!predicate(call)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(call);
        };
        waiters.add(waiter);
      });
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rm(tempDir, { recursive: true, force: true });
    },
  };
}

async function handle(
  exchange: EmulatorExchange,
  fault: FaultAction | undefined,
  options: EmulatorServerOptions,
  closing: AbortSignal,
): Promise<void> {
  try {
    if (fault?.kind === 'drop') {
      await exchange.waitForSomeBody();
      exchange.drop();
      return;
    }
    if (fault?.kind === 'status') {
      await sendFault(exchange, fault);
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms, undefined, { signal: closing });
    await options.handler(exchange);
    if (!exchange.responded) throw new Error(`emulator handler did not answer ${exchange.method} ${exchange.path}`);
  } catch (error) {
    if (closing.aborted) return;
    if (!exchange.responded) {
      const status = error instanceof EmulatorBodyError ? error.status : 500;
      const body = options.internalErrorBody?.(error) ?? { error: { message: String(error) } };
      await exchange.sendJson(status, body).catch(() => {});
    } else if (!exchange.response.writableEnded) {
      exchange.response.destroy(); // headers already out: the only honest signal left is a cut
    }
  }
}

async function sendFault(exchange: EmulatorExchange, fault: Extract<FaultAction, { kind: 'status' }>): Promise<void> {
  const headers = fault.headers ?? {};
  if (fault.body === undefined) await exchange.sendEmpty(fault.status, headers);
  else if (typeof fault.body === 'string') await exchange.sendText(fault.status, fault.body, headers);
  else await exchange.sendJson(fault.status, fault.body, headers);
}

interface ControlInit {
  request: IncomingMessage;
  response: ServerResponse;
  path: string;
  calls: RecordedCall[];
  faults: FaultList;
  reset: () => void;
  control: EmulatorServerOptions['control'];
}

async function serveControl(init: ControlInit): Promise<void> {
  const { request, response, path } = init;
  const reply = (status: number, value: unknown): void => {
    const body = JSON.stringify(value);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    const route = `${request.method} ${path}`;
    if (route === 'GET /__emulator/calls') return reply(200, init.calls);
    if (route === 'POST /__emulator/faults') {
      init.faults.add(faultRuleFromJson(JSON.parse(text)));
      return reply(200, { rules: init.faults.rules.length });
    }
    if (route === 'DELETE /__emulator/faults') {
      init.faults.clear();
      return reply(200, { rules: 0 });
    }
    if (route === 'POST /__emulator/reset') {
      init.reset();
      return reply(200, { reset: true });
    }
    const answer = init.control?.(route, text.trim() === '' ? undefined : JSON.parse(text));
    if (answer !== undefined) return reply(200, answer);
    reply(404, { error: `unknown control route ${route}` });
  } catch (error) {
    if (!response.headersSent && !response.destroyed) reply(400, { error: String(error) });
  }
}
