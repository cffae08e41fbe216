/**
 * The Google emulator over real HTTP: the token endpoint really verifies JWT-bearer grants, and
 * the GCS JSON API stores exact bytes through media, multipart and resumable uploads.
 * JWTs are signed here with node:crypto directly, independently of the gateway's google-auth.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import { readRelatedUpload } from '../../src/emulators/google-multipart-related.ts';
import type { ServiceAccountJson } from '../../src/providers/google/service-account.ts';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let emulator: GoogleEmulator;
let account: ServiceAccountJson;
let token: string;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');

function assertion(input: { account: ServiceAccountJson; claims?: Record<string, unknown>; key?: string }): string {
  const iat = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: input.account.private_key_id };
  const claims = { iss: input.account.client_email, scope: SCOPE, aud: input.account.token_uri, iat, exp: iat + 3600, ...input.claims };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), input.key ?? input.account.private_key).toString('base64url');
  return `${signingInput}.${signature}`;
}

async function grant(jwt: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(emulator.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: GRANT, assertion: jwt }).toString(),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

async function gcs(
  path: string,
  init: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; headers?: Record<string, string>; body?: Buffer | string; auth?: string | null } = {},
): Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }> {
  const auth = init.auth === undefined ? `Bearer ${token}` : init.auth;
  const response = await request(path.startsWith('http') ? path : `${emulator.gcsBaseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(auth === null ? {} : { authorization: auth }), ...init.headers },
    body: init.body ?? null,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return { status: response.statusCode, headers: response.headers, bytes: Buffer.concat(chunks) };
}

const json = (bytes: Buffer): Record<string, any> => JSON.parse(bytes.toString('utf8'));
const objectPath = (bucket: string, name: string) => `/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`;

before(async () => {
  emulator = await startGoogleEmulator();
  account = emulator.createServiceAccount({ projectId: 'emu-project' });
  const granted = await grant(assertion({ account }));
  token = granted.body.access_token as string;
});

after(() => emulator.close());

describe('token endpoint', () => {
  test('accepts a correctly signed JWT-bearer grant', async () => {
    assert.equal(account.token_uri, `${emulator.url}/token`);
    assert.equal(account.type, 'service_account');
    assert.equal(account.project_id, 'emu-project');
    const { status, body } = await grant(assertion({ account }));
    assert.equal(status, 200);
    assert.match(String(body.access_token), /^ya29\.emu-/);
    assert.equal(body.expires_in, 3599);
    assert.equal(body.token_type, 'Bearer');
    const call = emulator.calls.at(-1)!;
    assert.equal(call.path, '/token');
    assert.equal((call.json as { claims: { iss: string } }).claims.iss, account.client_email);
  });

  test('refuses a tampered signature', async () => {
    const jwt = assertion({ account });
    const flipped = jwt.slice(0, -5) + (jwt.at(-5) === 'A' ? 'B' : 'A') + jwt.slice(-4);
    const { status, body } = await grant(flipped);
    assert.equal(status, 400);
    assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
  });

  test("refuses a JWT signed with another account's key", async () => {
    const other = emulator.createServiceAccount();
    const { status, body } = await grant(assertion({ account, key: other.private_key }));
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_grant');
  });

  test('refuses a wrong audience', async () => {
    const { status, body } = await grant(assertion({ account, claims: { aud: 'https://example.com/token' } }));
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_grant');
    assert.match(String(body.error_description), /audience/);
  });

  test('refuses an unknown issuer', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const stranger = { ...account, client_email: 'nobody@elsewhere.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const { status, body } = await grant(assertion({ account: stranger }));
    assert.equal(status, 400);
    assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
  });

  test('refuses an expired assertion and a missing cloud-platform scope', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await grant(assertion({ account, claims: { iat: past, exp: past + 3600 } }));
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error, 'invalid_grant');
    const scoped = await grant(assertion({ account, claims: { scope: 'https://www.googleapis.com/auth/devstorage.read_only' } }));
    assert.equal(scoped.status, 400);
    assert.equal(scoped.body.error, 'invalid_scope');
  });
});

describe('GCS JSON API', () => {
  test('media upload round trip: metadata, exact bytes, md5', async () => {
    const data = randomBytes(300_000);
    const name = 'media/a b+c.bin';
    const created = await gcs(`/upload/storage/v1/b/bkt-media/o?uploadType=media&name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-custom' },
      body: data,
    });
    assert.equal(created.status, 200);
    const resource = json(created.bytes);
    assert.equal(resource.kind, 'storage#object');
    assert.equal(resource.name, name);
    assert.equal(resource.bucket, 'bkt-media');
    assert.equal(resource.size, String(data.length));
    assert.equal(typeof resource.generation, 'string');
    assert.equal(resource.metageneration, '1');
    assert.equal(resource.md5Hash, md5(data));
    assert.equal(resource.id, `bkt-media/${name}/${resource.generation}`);
    assert.equal(resource.contentType, 'application/x-custom');

    const metadata = await gcs(objectPath('bkt-media', name));
    assert.deepEqual(json(metadata.bytes), resource);
    const media = await gcs(`${objectPath('bkt-media', name)}?alt=media`);
    assert.equal(media.status, 200);
    assert.equal(media.headers['content-type'], 'application/x-custom');
    assert.equal(sha256(media.bytes), sha256(data));
    const [stored] = emulator.objects('bkt-media');
    assert.equal(stored!.sha256, sha256(data));
    assert.equal(stored!.md5, md5(data));
  });

  test('multipart/related upload keeps metadata and bytes (boundary-like bytes inside)', async () => {
    const boundary = 'sep_1234';
    // Bytes that look like the start of a delimiter must pass through untouched.
    const data = Buffer.concat([randomBytes(70_000), Buffer.from(`\r\n--sep_123\r\n--sep`), randomBytes(70_000)]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n`),
      Buffer.from(JSON.stringify({ name: 'multi/x.jsonl', contentType: 'application/jsonl', metadata: { purpose: 'batch', filename: 'x.jsonl' } })),
      Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/jsonl\r\n\r\n`),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const created = await gcs('/upload/storage/v1/b/bkt-multi/o?uploadType=multipart', {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}` },
      body,
    });
    assert.equal(created.status, 200, created.bytes.toString());
    const resource = json(created.bytes);
    assert.equal(resource.size, String(data.length));
    assert.deepEqual(resource.metadata, { purpose: 'batch', filename: 'x.jsonl' });
    assert.equal(resource.contentType, 'application/jsonl');
    assert.deepEqual(await emulator.readObject('bkt-multi', 'multi/x.jsonl'), data);
    assert.deepEqual((emulator.calls.at(-1)!.json as { name: string }).name, 'multi/x.jsonl');
  });

  test('the multipart/related reader finds delimiters split across tiny chunks', async () => {
    // Near-misses of the delimiter '\r\n--bnd' inside the media must pass through untouched.
    const data = Buffer.concat([Buffer.from('\r\n--bn\r\n--b'), randomBytes(5000), Buffer.from('\r\n--')]);
    const body = Buffer.concat([Buffer.from('preamble\r\n--bnd\r\n\r\n{"name":"n"}\r\n--bnd\r\nContent-Type: text/x\r\n\r\n'), data, Buffer.from('\r\n--bnd--\r\n')]);
    async function* tiny(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < body.length; offset += 3) yield body.subarray(offset, offset + 3);
    }
    const received: Buffer[] = [];
    const result = await readRelatedUpload({ body: tiny(), boundary: 'bnd', onMedia: async (chunk) => void received.push(Buffer.from(chunk)) });
    assert.deepEqual(result, { metadataText: '{"name":"n"}', mediaType: 'text/x' });
    assert.deepEqual(Buffer.concat(received), data);
  });

  test('resumable upload in one PUT, without Authorization on the session URI', async () => {
    const data = randomBytes(123_456);
    const start = await gcs('/upload/storage/v1/b/bkt-res/o?uploadType=resumable', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upload-content-type': 'application/pdf' },
      body: JSON.stringify({ name: 'one-shot.pdf', metadata: { purpose: 'user_data' } }),
    });
    assert.equal(start.status, 200);
    const location = String(start.headers.location);
    assert.ok(location.startsWith(`${emulator.url}/upload/storage/v1/b/bkt-res/o?`), location);
    const put = await gcs(location, { method: 'PUT', body: data, auth: null });
    assert.equal(put.status, 200);
    assert.equal(json(put.bytes).contentType, 'application/pdf');
    assert.equal(sha256((await emulator.readObject('bkt-res', 'one-shot.pdf'))!), sha256(data));
  });

  test('ifGenerationMatch=0 on resumable uploads: of two sessions finishing together exactly one stores the object, the other gets 412', async () => {
    const open = async () => {
      const start = await gcs('/upload/storage/v1/b/bkt-cond/o?uploadType=resumable&ifGenerationMatch=0', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'once.jsonl' }),
      });
      assert.equal(start.status, 200);
      return String(start.headers.location);
    };
    const sessions = await Promise.all([open(), open()]);
    const bodies = [Buffer.from('first\n'), Buffer.from('second\n')];
    const puts = await Promise.all(sessions.map((location, index) => gcs(location, { method: 'PUT', body: bodies[index]!, auth: null })));
    assert.deepEqual(puts.map((put) => put.status).sort(), [200, 412]);
    const refused = puts.find((put) => put.status === 412)!;
    assert.deepEqual(json(refused.bytes).error.errors[0].reason, 'conditionNotMet');
    const winner = bodies[puts.findIndex((put) => put.status === 200)]!;
    assert.deepEqual(await emulator.readObject('bkt-cond', 'once.jsonl'), winner);
    // Once it exists, a later conditional write is refused too; an unconditional one replaces it.
    const late = await gcs(await open(), { method: 'PUT', body: 'late', auth: null });
    assert.equal(late.status, 412);
    assert.equal((await gcs('/upload/storage/v1/b/bkt-cond/o?uploadType=media&name=once.jsonl', { method: 'POST', body: 'over' })).status, 200);
    assert.equal((await gcs('/upload/storage/v1/b/bkt-cond/o?uploadType=media&name=once.jsonl&ifGenerationMatch=x', { method: 'POST', body: 'x' })).status, 400);
  });

  test('resumable upload in chunks: 308 + Range until the final chunk', async () => {
    const chunk = 256 * 1024;
    const data = randomBytes(2 * chunk + 1000);
    const start = await gcs('/upload/storage/v1/b/bkt-res/o?uploadType=resumable&name=chunked.bin', { method: 'POST' });
    const location = String(start.headers.location);
    const tooSmall = await gcs(location, { method: 'PUT', headers: { 'content-range': 'bytes 0-999/*' }, body: data.subarray(0, 1000) });
    assert.equal(tooSmall.status, 400);
    const first = await gcs(location, { method: 'PUT', headers: { 'content-range': `bytes 0-${chunk - 1}/*` }, body: data.subarray(0, chunk) });
    assert.equal(first.status, 308);
    assert.equal(first.headers.range, `bytes=0-${chunk - 1}`);
    const query = await gcs(location, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    assert.equal(query.status, 308);
    assert.equal(query.headers.range, `bytes=0-${chunk - 1}`);
    const second = await gcs(location, { method: 'PUT', headers: { 'content-range': `bytes ${chunk}-${2 * chunk - 1}/*` }, body: data.subarray(chunk, 2 * chunk) });
    assert.equal(second.status, 308);
    const total = data.length;
    const last = await gcs(location, { method: 'PUT', headers: { 'content-range': `bytes ${2 * chunk}-${total - 1}/${total}` }, body: data.subarray(2 * chunk) });
    assert.equal(last.status, 200);
    assert.equal(json(last.bytes).size, String(total));
    const stored = emulator.objects('bkt-res').find((object) => object.name === 'chunked.bin')!;
    assert.equal(stored.sha256, sha256(data));
    assert.equal(stored.contentType, 'application/octet-stream');
  });

  test('401 in the GCS envelope without a valid token', async () => {
    const missing = await gcs(objectPath('bkt-media', 'x'), { auth: null });
    assert.equal(missing.status, 401);
    assert.equal(json(missing.bytes).error.code, 401);
    const bogus = await gcs(objectPath('bkt-media', 'x'), { auth: 'Bearer ya29.not-issued-here' });
    assert.equal(bogus.status, 401);
    assert.equal(json(bogus.bytes).error.message, 'Invalid Credentials');
  });

  test('unknown object → 404 with the exact GCS body; delete → 204 then 404', async () => {
    const missing = await gcs(objectPath('b', 'o'));
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing.bytes), {
      error: { code: 404, message: 'No such object: b/o', errors: [{ domain: 'global', reason: 'notFound', message: 'No such object: b/o' }] },
    });
    await gcs('/upload/storage/v1/b/bkt-del/o?uploadType=media&name=gone.txt', { method: 'POST', body: 'bye' });
    const deleted = await gcs(objectPath('bkt-del', 'gone.txt'), { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.bytes.length, 0);
    assert.equal((await gcs(objectPath('bkt-del', 'gone.txt'))).status, 404);
    assert.equal((await gcs(objectPath('bkt-del', 'gone.txt'), { method: 'DELETE' })).status, 404);
  });

  test('concurrent writes of one object (and of its long-named sibling) while it is read: every read whole, the object kept', async () => {
    // Two gateway instances storing one converted batch output at once (same name, same folder
    // as its error file) once made the emulator lose the object's bytes: reads then broke off.
    const folder = `gw/unifile/batches/${'f'.repeat(36)}/`;
    const names = [`${folder}openai-output.jsonl`, `${folder}openai-errors.jsonl`];
    const versions = Array.from({ length: 6 }, (_, index) => Buffer.from(`version ${index} `.repeat(20_000)));
    const upload = (name: string, body: Buffer) =>
      gcs(`/upload/storage/v1/b/bkt-race/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body });
    await upload(names[0]!, versions[0]!);
    const reads: Array<ReturnType<typeof gcs>> = [];
    const writes: Array<ReturnType<typeof gcs>> = [];
    for (const [index, body] of versions.entries()) {
      for (const name of names) writes.push(upload(name, body));
      reads.push(gcs(`${objectPath('bkt-race', names[0]!)}?alt=media`));
      if (index % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const write of await Promise.all(writes)) assert.equal(write.status, 200);
    for (const read of await Promise.all(reads)) {
      assert.equal(read.status, 200);
      assert.ok(versions.some((version) => version.equals(read.bytes)), 'a read answered one whole version');
    }
    for (const name of names) {
      const final = await gcs(`${objectPath('bkt-race', name)}?alt=media`);
      assert.equal(final.status, 200);
      assert.ok(versions.some((version) => version.equals(final.bytes)), `${name} kept its bytes`);
    }
  });

  test('list pages by prefix with maxResults and pageToken', async () => {
    for (const name of ['p/3', 'p/1', 'q/1', 'p/5', 'p/2', 'p/4']) {
      await gcs(`/upload/storage/v1/b/bkt-list/o?uploadType=media&name=${name}`, { method: 'POST', body: name });
    }
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ prefix: 'p/', maxResults: '2', ...(pageToken ? { pageToken } : {}) });
      const page = json((await gcs(`/storage/v1/b/bkt-list/o?${query}`)).bytes);
      assert.equal(page.kind, 'storage#objects');
      seen.push(...page.items.map((item: { name: string }) => item.name));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken);
    assert.deepEqual(seen, ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
    assert.equal(pages, 3);
    const rolled = json((await gcs('/storage/v1/b/bkt-list/o?delimiter=/')).bytes);
    assert.deepEqual(rolled.prefixes, ['p/', 'q/']);
    assert.equal(rolled.items, undefined);
  });

  test('with configured buckets, other buckets do not exist', async () => {
    const strict = await startGoogleEmulator({ buckets: ['only-bucket'] });
    try {
      const strictAccount = strict.createServiceAccount();
      const response = await request(strict.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: GRANT, assertion: assertion({ account: strictAccount }) }).toString(),
      });
      const strictToken = ((await response.body.json()) as { access_token: string }).access_token;
      const upload = (bucket: string) =>
        gcs(`${strict.url}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=x`, { method: 'POST', body: 'x', auth: `Bearer ${strictToken}` });
      const refused = await upload('other-bucket');
      assert.equal(refused.status, 404);
      assert.equal(json(refused.bytes).error.message, 'The specified bucket does not exist.');
      assert.equal((await upload('only-bucket')).status, 200);
      assert.deepEqual(strict.objects().map((object) => `${object.bucket}/${object.name}`), ['only-bucket/x']);
    } finally {
      await strict.close();
    }
  });

  test('reset forgets objects but keeps service accounts and tokens', async () => {
    assert.ok(emulator.objects().length > 0);
    emulator.reset();
    assert.deepEqual(emulator.objects(), []);
    assert.equal(emulator.calls.length, 0);
    assert.equal((await gcs(objectPath('bkt-media', 'media/a b+c.bin'))).status, 404);
    assert.equal((await grant(assertion({ account }))).status, 200);
  });
});
