/**
 * The Vertex files adapter against the Google emulator over real HTTP: exact bytes in GCS,
 * object names under the configured prefix, one token for many calls, and upstream failures
 * mapped to gateway errors that name vertex_ai and the deployment.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError, UpstreamError } from '../../src/core/errors.ts';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import type { CallContext, UploadBody } from '../../src/providers/provider-adapter.ts';
import type { ServiceAccountJson } from '../../src/providers/google/service-account.ts';
import { VertexFiles, type VertexFilesOptions } from '../../src/providers/vertex/vertex-files.ts';

const INSTANCE = 'vertex-eu-1';
let emulator: GoogleEmulator;
let account: ServiceAccountJson;
const adapters: VertexFiles[] = [];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function adapter(overrides: Partial<VertexFilesOptions> = {}): VertexFiles {
  const files = new VertexFiles({ instance: INSTANCE, bucketName: 'unit-bucket/team/a', credentials: account, gcsApiBase: emulator.gcsBaseUrl, ...overrides });
  adapters.push(files);
  return files;
}

function context(signal?: AbortSignal): CallContext & { lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const push = (object: Record<string, unknown>, message?: string) => void lines.push({ ...object, message });
  return { requestId: 'req-test', logger: { info: push, warn: push, error: push }, lines, ...(signal ? { signal } : {}) };
}

/** A re-openable body that counts its opens and streams in 64 KiB pieces. */
function body(data: Buffer, knownLength = true): UploadBody & { opens: number } {
  const result = {
    opens: 0,
    bytes: knownLength ? data.length : undefined,
    open(): Readable {
      result.opens += 1;
      return Readable.from((function* () {
        for (let offset = 0; offset < data.length; offset += 65536) yield data.subarray(offset, offset + 65536);
      })());
    },
  };
  return result;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const tokenCalls = () => emulator.calls.filter((call) => call.path === '/token').length;
const gcsCalls = () => emulator.calls.filter((call) => call.path !== '/token').length;

async function rejectsWith(promise: Promise<unknown>, check: (error: GatewayError) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof GatewayError, `expected a GatewayError, got ${String(error)}`);
    check(error);
    return true;
  });
}

before(async () => {
  emulator = await startGoogleEmulator();
  account = emulator.createServiceAccount({ projectId: 'unifile-test' });
});
beforeEach(() => emulator.reset());
after(async () => {
  await Promise.all(adapters.map((files) => files.close()));
  await emulator.close();
});

describe('vertex files adapter', () => {
  test('upload (known length) → retrieve → content → delete → 404', async () => {
    const files = adapter();
    const ctx = context();
    const data = randomBytes(1_500_000);
    const upload = body(data);
    const created = await files.upload({ body: upload, filename: 'Q3 report (final).pdf', mimeType: 'application/pdf', purpose: 'user_data' }, ctx);
    assert.match(created.id, /^gs:\/\/unit-bucket\/team\/a\/unifile\/[0-9a-f-]{36}\/Q3_report_final_\.pdf$/);
    assert.equal(upload.opens, 1);
    assert.deepEqual({ ...created, id: '', created_at: 0 }, {
      id: '', object: 'file', bytes: data.length, created_at: 0, filename: 'Q3 report (final).pdf',
      purpose: 'user_data', status: 'uploaded', expires_at: null, status_details: null,
    });
    assert.ok(Math.abs(created.created_at - Date.now() / 1000) < 60);

    const objectName = created.id.slice('gs://unit-bucket/'.length);
    const [stored] = emulator.objects('unit-bucket');
    assert.equal(stored!.name, objectName);
    assert.equal(stored!.sha256, sha256(data));
    assert.equal(stored!.contentType, 'application/pdf');
    assert.deepEqual(stored!.metadata, { purpose: 'user_data', filename: 'Q3 report (final).pdf' });
    const uploadCall = emulator.calls.find((call) => call.path === '/upload/storage/v1/b/unit-bucket/o')!;
    assert.equal(uploadCall.query.uploadType, 'multipart');
    assert.equal(uploadCall.headers['content-length'], String(uploadCall.bodyBytes));

    const retrieved = await files.retrieve(created.id, ctx);
    assert.deepEqual(retrieved, { ...created, status: 'processed' });
    const content = await files.content(created.id, ctx);
    assert.equal(content.contentType, 'application/pdf');
    assert.equal(content.contentLength, data.length);
    assert.equal(sha256(await readAll(content.body)), sha256(data));

    assert.deepEqual(await files.delete(created.id, ctx), { id: created.id, object: 'file', deleted: true });
    assert.deepEqual(emulator.objects('unit-bucket'), []);
    await rejectsWith(files.retrieve(created.id, ctx), (error) => {
      assert.equal(error.status, 404);
      assert.match((error as UpstreamError).failure.message, /No such object/);
    });
    await rejectsWith(files.content(created.id, ctx), (error) => assert.equal(error.status, 404));
  });

  test('upload of unknown length goes resumable in 256 KiB chunks, exact bytes', async () => {
    const files = adapter({ resumableChunkBytes: 256 * 1024 });
    const data = randomBytes(2 * 256 * 1024 + 4321);
    const created = await files.upload({ body: body(data, false), filename: 'data.jsonl', mimeType: 'application/jsonl', purpose: 'batch' }, context());
    assert.equal(created.bytes, data.length);
    const puts = emulator.calls.filter((call) => call.method === 'PUT').map((call) => `${call.headers['content-range']} ${call.status}`);
    assert.deepEqual(puts, ['bytes 0-262143/* 308', 'bytes 262144-524287/* 308', `bytes 524288-${data.length - 1}/${data.length} 200`]);
    const start = emulator.calls.find((call) => call.query.uploadType === 'resumable' && call.method === 'POST')!;
    assert.equal((start.json as { contentType: string }).contentType, 'application/jsonl');
    assert.deepEqual(await emulator.readObject('unit-bucket', created.id.slice('gs://unit-bucket/'.length)), data);
  });

  test('an exact multiple of the chunk size: the last full chunk is the final one, carrying the total', async () => {
    const files = adapter({ resumableChunkBytes: 256 * 1024 });
    const data = randomBytes(2 * 256 * 1024);
    // Arriving in odd pieces, so chunks are filled across them.
    const pieces = [data.subarray(0, 1000), data.subarray(1000, 300_000), data.subarray(300_000)];
    const created = await files.upload({ body: { open: () => Readable.from(pieces), bytes: undefined }, filename: 'even.jsonl', mimeType: 'application/jsonl', purpose: 'batch' }, context());
    assert.equal(created.bytes, data.length);
    const puts = emulator.calls.filter((call) => call.method === 'PUT').map((call) => `${call.headers['content-range']} ${call.status}`).slice(-2);
    assert.deepEqual(puts, ['bytes 0-262143/* 308', `bytes 262144-524287/${data.length} 200`]);
    assert.deepEqual(await emulator.readObject('unit-bucket', created.id.slice('gs://unit-bucket/'.length)), data);
  });

  test('string pieces (converter lines) are encoded into the chunks, multi-byte characters across a chunk border intact', async () => {
    const files = adapter({ resumableChunkBytes: 256 * 1024 });
    const lines = Array.from({ length: 8000 }, (_, index) => `{"row":${index},"text":"Ünïcode — 😀 ${'x'.repeat(index % 200)}"}\n`);
    const expected = Buffer.from(lines.join(''));
    const created = await files.upload({ body: { open: () => Readable.from(lines), bytes: undefined }, filename: 'lines.jsonl', mimeType: 'application/jsonl', purpose: 'batch' }, context());
    assert.equal(created.bytes, expected.length);
    assert.ok(expected.length > 2 * 256 * 1024, 'spans several chunks');
    assert.deepEqual(await emulator.readObject('unit-bucket', created.id.slice('gs://unit-bucket/'.length)), expected);
  });

  test('an empty file of unknown length still becomes an object', async () => {
    const files = adapter();
    const created = await files.upload({ body: body(Buffer.alloc(0), false), filename: 'empty.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
    assert.equal(created.bytes, 0);
    assert.equal(emulator.objects('unit-bucket')[0]!.size, 0);
  });

  test('expires_after is reported at upload and retrieve', async () => {
    const files = adapter();
    const created = await files.upload(
      { body: body(Buffer.from('{}\n')), filename: 'e.jsonl', mimeType: 'application/jsonl', purpose: 'batch', expiresAfter: { anchor: 'created_at', seconds: 7200 } },
      context(),
    );
    assert.equal(created.expires_at, created.created_at + 7200);
    assert.equal((await files.retrieve(created.id, context())).expires_at, created.created_at + 7200);
  });

  test('ids outside the configured bucket or prefix are 404 without any upstream call', async () => {
    const files = adapter();
    await files.retrieve((await files.upload({ body: body(Buffer.from('x')), filename: 'x', mimeType: 'text/plain', purpose: 'user_data' }, context())).id, context());
    const before = gcsCalls();
    for (const id of ['gs://other-bucket/team/a/unifile/x', 'gs://unit-bucket/team/b/x', 'gs://unit-bucket/team/ab/x', 'gs://unit-bucket/', 'file-abc', 'gs://unit-bucket/team/a/']) {
      await rejectsWith(files.retrieve(id, context()), (error) => {
        assert.equal(error.status, 404);
        assert.equal(error.code, 'file_not_found');
      });
      await rejectsWith(files.delete(id, context()), (error) => assert.equal(error.code, 'file_not_found'));
    }
    assert.equal(gcsCalls(), before);
  });

  test('list pages through the objects the gateway wrote under its prefix, in name order', async () => {
    const files = adapter({ bucketName: 'unit-bucket/listing' });
    const made = [];
    for (let index = 0; index < 5; index += 1) {
      made.push(await files.upload({ body: body(Buffer.from(`n${index}`)), filename: `l${index}.txt`, mimeType: 'text/plain', purpose: index === 0 ? 'batch' : 'user_data' }, context()));
    }
    // Objects outside the gateway's folder (or the prefix) are not listed.
    await adapter({ bucketName: 'unit-bucket/elsewhere' }).upload({ body: body(Buffer.from('x')), filename: 'x.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const result = await files.list({ limit: 2, ...(after ? { after } : {}) }, context());
      assert.ok(result.data.length <= 2);
      seen.push(...result.data.map((file) => file.id));
      assert.equal(result.first_id, result.data[0]?.id ?? null);
      assert.equal(result.last_id, result.data.at(-1)?.id ?? null);
      if (!result.has_more) break;
      after = result.last_id!;
    }
    assert.deepEqual(seen, made.map((file) => file.id).sort(), 'every object once, in name order');
    const batch = await files.list({ purpose: 'batch' }, context());
    assert.deepEqual(batch.data.map((file) => [file.id, file.filename, file.bytes]), [[made[0]!.id, 'l0.txt', 2]]);
    assert.equal(batch.has_more, false);
    await rejectsWith(files.list({ after: 'gs://other-bucket/x' }, context()), (error) => assert.equal(error.status, 404));
  });

  test('one token serves many calls, also concurrent ones; credentials from a path or JSON text', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'unifile-vertex-test-'));
    try {
      const path = join(directory, 'key.json');
      await writeFile(path, JSON.stringify(account));
      for (const credentials of [path, JSON.stringify(account)]) {
        emulator.reset();
        const files = adapter({ credentials });
        const created = await files.upload({ body: body(Buffer.from('hello')), filename: 'h.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
        await Promise.all([1, 2, 3, 4].map(() => files.retrieve(created.id, context())));
        await readAll((await files.content(created.id, context())).body);
        await files.delete(created.id, context());
        // The emulator records a download once its file stream has closed (an fs operation),
        // which can come after this client has read the answer and made the next call.
        for (let waited = 0; waited < 2000 && gcsCalls() < 7; waited += 10) await sleep(10);
        assert.equal(tokenCalls(), 1);
        assert.equal(gcsCalls(), 7);
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('concurrent first calls share one token refresh', async () => {
    const files = adapter();
    await Promise.all([1, 2, 3, 4, 5].map((n) => files.upload({ body: body(Buffer.from(`n${n}`)), filename: `${n}.txt`, mimeType: 'text/plain', purpose: 'user_data' }, context())));
    assert.equal(tokenCalls(), 1);
    assert.equal(emulator.objects('unit-bucket').length, 5);
  });

  test('a revoked token is replaced once on 401 and the call succeeds', async () => {
    const files = adapter();
    const created = await files.upload({ body: body(Buffer.from('abc')), filename: 'a.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
    emulator.revokeTokens();
    const retrieved = await files.retrieve(created.id, context());
    assert.equal(retrieved.bytes, 3);
    assert.equal(tokenCalls(), 2);
    assert.deepEqual(emulator.calls.filter((call) => call.method === 'GET').map((call) => call.status), [401, 200]);
  });

  test('a refused token grant → 502 upstream_auth_failed naming vertex_ai and the instance', async () => {
    const other = emulator.createServiceAccount();
    const files = adapter({ credentials: { ...account, private_key: other.private_key } });
    await rejectsWith(files.upload({ body: body(Buffer.from('x')), filename: 'x', mimeType: 'text/plain', purpose: 'user_data' }, context()), (error) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.status, 502);
      assert.equal(error.code, 'upstream_auth_failed');
      assert.equal(error.failure.provider, 'vertex_ai');
      assert.equal(error.failure.deployment, INSTANCE);
      assert.match(error.failure.message, /token endpoint .*invalid_grant/);
      assert.equal(error.failure.code, 'invalid_grant');
    });
    assert.equal(gcsCalls(), 0);
  });

  test('GCS 500 → 502 naming vertex_ai and the instance; 429 keeps retry-after', async () => {
    const files = adapter();
    const created = await files.upload({ body: body(Buffer.from('abc')), filename: 'a.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
    emulator.faults.add({ method: 'GET', path: '/storage/v1/b/*', action: { kind: 'status', status: 500, body: { error: { code: 500, message: 'Backend Error' } } } });
    await rejectsWith(files.retrieve(created.id, context()), (error) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.status, 502);
      assert.match(error.message, /^vertex_ai failed \(HTTP 500/);
      assert.match(error.failure.message, /Backend Error/);
      assert.equal(error.failure.upstreamStatus, 500);
      assert.equal(error.failure.retryable, true);
    });
    emulator.faults.add({ method: 'GET', path: '/storage/v1/b/*', action: { kind: 'status', status: 429, body: 'slow down', headers: { 'retry-after': '7' } } });
    await rejectsWith(files.retrieve(created.id, context()), (error) => {
      assert.equal(error.status, 429);
      assert.equal(error.headers['retry-after'], '7');
    });
  });

  test('a dropped connection → 502 unreachable; slow headers → 504 timeout; abort → 499', async () => {
    const files = adapter({ timeouts: { timeoutMs: 200 } });
    const created = await files.upload({ body: body(Buffer.from('abc')), filename: 'a.txt', mimeType: 'text/plain', purpose: 'user_data' }, context());
    emulator.faults.add({ method: 'DELETE', action: { kind: 'drop' } });
    await rejectsWith(files.delete(created.id, context()), (error) => {
      assert.equal(error.status, 502);
      assert.equal(error.code, 'upstream_unreachable');
    });
    emulator.faults.add({ method: 'GET', action: { kind: 'delay', ms: 5000 } });
    await rejectsWith(files.retrieve(created.id, context()), (error) => {
      assert.equal(error.status, 504);
      assert.match(error.message, /did not answer in time/);
    });
    await rejectsWith(files.retrieve(created.id, context(AbortSignal.abort())), (error) => assert.equal(error.status, 499));
  });

  test('one log line per upstream call, never a token', async () => {
    const files = adapter();
    const ctx = context();
    const created = await files.upload({ body: body(Buffer.from('abc')), filename: 'a.txt', mimeType: 'text/plain', purpose: 'user_data' }, ctx);
    await files.retrieve(created.id, ctx);
    assert.deepEqual(ctx.lines.map((line) => [line.operation, line.status, line.provider, line.deployment, line.message]), [
      ['token', 200, 'vertex_ai', INSTANCE, 'upstream call'],
      ['files.upload', 200, 'vertex_ai', INSTANCE, 'upstream call'],
      ['files.retrieve', 200, 'vertex_ai', INSTANCE, 'upstream call'],
    ]);
    assert.ok(ctx.lines.every((line) => typeof line.durationMs === 'number'));
    assert.doesNotMatch(JSON.stringify(ctx.lines), /ya29|Bearer|PRIVATE KEY|upload_id/);
  });
});
