/**
 * Raw HTTP/1.1 over node:net, for the inputs no well-behaved client produces: cut or stalled
 * bodies, broken framing, NUL bytes and bad percent-encoding in the request line, oversize
 * headers. The answer is read by hand (Content-Length, chunked, or up to the close).
 */
import { connect } from 'node:net';

/** How the client ends its side once the bytes are written. */
export type Ending =
  | 'complete' // everything the framing announced was sent: an answer is owed
  | 'half-close' // FIN after the bytes: an answer or a close are both acceptable
  | 'abort' // the socket is destroyed after the bytes: nobody is there to answer
  | 'stall'; // bytes stop arriving, the socket stays open: the server must answer or close in time

export interface RawRequest {
  pieces: Buffer[];
  ending: Ending;
}

export interface RawAnswer {
  /** 0 when the connection closed (or was aborted by us) without a full answer. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The bound passed with neither an answer nor a close. */
  timedOut: boolean;
  ms: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses the first complete response in `data`, or undefined when more bytes are needed. */
export function parseResponse(data: Buffer, closed: boolean): Omit<RawAnswer, 'timedOut' | 'ms'> | undefined {
  let start = 0;
  for (;;) {
    const end = data.indexOf(HEADER_END, start);
    if (end === -1) return undefined;
    const lines = data.subarray(start, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = end + HEADER_END.length;
    // Interim answers (100 Continue) come before the real one.
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    const rest = data.subarray(bodyStart);
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const decoded = dechunk(rest);
      if (decoded) return { status, headers, body: decoded };
      return closed ? { status, headers, body: rest } : undefined;
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length >= length) return { status, headers, body: rest.subarray(0, length) };
      return closed ? { status, headers, body: rest } : undefined;
    }
    return closed ? { status, headers, body: rest } : undefined;
  }
}

function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const chunkStart = lineEnd + 2;
    if (data.length < chunkStart + size + 2) return undefined;
    parts.push(data.subarray(chunkStart, chunkStart + size));
    offset = chunkStart + size + 2;
  }
}

/** Sends the pieces and waits for the answer, a close, or `boundMs`. */
export function sendRaw(options: { port: number; request: RawRequest; boundMs: number }): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ port: options.port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean, timedOut = false) => {
      if (done) return;
      const data = Buffer.concat(received);
      const parsed = parseResponse(data, closed);
      if (!parsed && !closed && !timedOut) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...(parsed ?? { status: 0, headers: {}, body: data }), timedOut: timedOut && !parsed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false, true), options.boundMs);
    socket.on('data', (chunk) => {
      received.push(chunk);
      finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      const closed = new Promise<void>((resume) => socket.once('close', () => resume()));
      const write = async () => {
        for (const piece of options.request.pieces) {
          if (done || socket.destroyed) return;
          // Waiting for each write to be handed to the kernel: an abort then cuts after these bytes.
          await Promise.race([new Promise<void>((resume) => socket.write(piece, () => resume())), closed]);
        }
        if (done || socket.destroyed) return;
        if (options.request.ending === 'half-close') socket.end();
        if (options.request.ending === 'abort') finish(true);
      };
      void write();
    });
  });
}

/** How a body is framed on the wire. */
export type Framing =
  | { kind: 'length' } // Content-Length, all bytes sent
  | { kind: 'chunked'; chunkSize: number } // Transfer-Encoding: chunked, terminated
  | { kind: 'declared-more'; cutAt: number } // Content-Length of the whole body, only cutAt bytes sent
  | { kind: 'chunked-unterminated'; cutAt: number } // chunked, cutAt bytes sent, no last chunk
  | { kind: 'none' }; // no body headers at all (body bytes, if any, follow the head)

export interface RequestSpec {
  method: string;
  /** The request target exactly as sent (may hold bad percent-encoding, NUL, …). */
  target: string | Buffer;
  headers: Array<[string, string | Buffer]>;
  body?: Buffer;
  framing?: Framing;
}

/** The request as pieces: head, then the body in a few pieces (so the server sees it arrive). */
export function requestPieces(spec: RequestSpec): Buffer[] {
  const body = spec.body ?? Buffer.alloc(0);
  const framing: Framing = spec.framing ?? (spec.body ? { kind: 'length' } : { kind: 'none' });
  const headers = [...spec.headers];
  let payload: Buffer[] = [];
  switch (framing.kind) {
    case 'length':
      headers.push(['content-length', String(body.length)]);
      payload = split(body, 64 * 1024);
      break;
    case 'declared-more':
      headers.push(['content-length', String(body.length)]);
      payload = split(body.subarray(0, framing.cutAt), 64 * 1024);
      break;
    case 'chunked':
    case 'chunked-unterminated': {
      headers.push(['transfer-encoding', 'chunked']);
      const sent = framing.kind === 'chunked' ? body : body.subarray(0, framing.cutAt);
      const size = framing.kind === 'chunked' ? Math.max(1, framing.chunkSize) : 16 * 1024;
      payload = split(sent, size).map((chunk) => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      if (framing.kind === 'chunked') payload.push(Buffer.from('0\r\n\r\n'));
      break;
    }
    case 'none':
      payload = body.length > 0 ? [body] : [];
      break;
  }
  const head = Buffer.concat([
    Buffer.from(`${spec.method} `, 'latin1'),
    Buffer.isBuffer(spec.target) ? spec.target : Buffer.from(spec.target, 'latin1'),
    Buffer.from(' HTTP/1.1\r\n', 'latin1'),
    ...headers.map(([name, value]) => Buffer.concat([Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ]);
  return [head, ...payload];
}

function split(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}
