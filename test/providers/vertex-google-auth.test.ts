/**
 * Service-account access tokens against the emulator's real token endpoint: the JWT it sends,
 * caching, one shared refresh, and how refusals and failures surface.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GatewayError, UpstreamError } from '../../src/core/errors.ts';
import { startGoogleEmulator, type GoogleEmulator } from '../../src/emulators/google-emulator.ts';
import { GoogleTokenProvider } from '../../src/providers/google/service-account-tokens.ts';
import { ServiceAccountError, loadServiceAccount, type ServiceAccountJson } from '../../src/providers/google/service-account.ts';

let emulator: GoogleEmulator;
let shortLived: GoogleEmulator;
let account: ServiceAccountJson;

const tokenCalls = (target: GoogleEmulator) => target.calls.filter((call) => call.path === '/token');
const provider = (credentials: ServiceAccountJson | string = account) => new GoogleTokenProvider({ instance: 'vx-1', credentials });

before(async () => {
  emulator = await startGoogleEmulator();
  // Tokens that live less than the 60 s refresh margin are never served from cache.
  shortLived = await startGoogleEmulator({ tokenLifetimeSeconds: 30 });
  account = emulator.createServiceAccount();
});
beforeEach(() => emulator.reset());
after(async () => {
  await emulator.close();
  await shortLived.close();
});

async function rejectsWith(promise: Promise<unknown>, check: (error: GatewayError) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof GatewayError, String(error));
    check(error);
    return true;
  });
}

describe('GoogleTokenProvider', () => {
  test('sends an RS256 JWT-bearer grant with the expected claims, then serves the token from cache', async () => {
    const tokens = provider();
    const first = await tokens.getAccessToken();
    assert.match(first, /^ya29\.emu-/);
    assert.equal(await tokens.getAccessToken(), first);
    const calls = tokenCalls(emulator);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    const { header, claims } = calls[0]!.json as { header: Record<string, unknown>; claims: Record<string, number | string> };
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: account.private_key_id });
    assert.equal(claims.iss, account.client_email);
    assert.equal(claims.aud, account.token_uri);
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/cloud-platform');
    assert.equal(Number(claims.exp) - Number(claims.iat), 3600);
  });

  test('concurrent callers share one refresh', async () => {
    const tokens = provider();
    const values = await Promise.all(Array.from({ length: 10 }, () => tokens.getAccessToken()));
    assert.equal(new Set(values).size, 1);
    assert.equal(tokenCalls(emulator).length, 1);
  });

  test('a token inside the refresh margin is refreshed', async () => {
    const tokens = provider(shortLived.createServiceAccount());
    const before = tokenCalls(shortLived).length;
    const first = await tokens.getAccessToken();
    const second = await tokens.getAccessToken();
    assert.notEqual(first, second);
    assert.equal(tokenCalls(shortLived).length - before, 2);
  });

  test("one caller's abort does not cancel the refresh the others wait for", async () => {
    emulator.faults.add({ path: '/token', action: { kind: 'delay', ms: 100 } });
    const tokens = provider();
    const controller = new AbortController();
    const aborted = tokens.getAccessToken({ signal: controller.signal });
    const patient = tokens.getAccessToken();
    controller.abort();
    await rejectsWith(aborted, (error) => assert.equal(error.status, 499));
    assert.match(await patient, /^ya29\.emu-/);
    assert.equal(tokenCalls(emulator).length, 1);
  });

  test('invalid_grant → 502 upstream_auth_failed (401 semantics), and refusals are not cached', async () => {
    const other = emulator.createServiceAccount();
    const tokens = provider({ ...account, private_key: other.private_key });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await rejectsWith(tokens.getAccessToken(), (error) => {
        assert.ok(error instanceof UpstreamError);
        assert.equal(error.status, 502);
        assert.equal(error.code, 'upstream_auth_failed');
        assert.equal(error.failure.upstreamStatus, 401);
        assert.equal(error.failure.deployment, 'vx-1');
        assert.match(error.failure.message, /Invalid JWT Signature/);
        assert.doesNotMatch(error.failure.message, /PRIVATE KEY/);
      });
    }
    assert.equal(tokenCalls(emulator).length, 2);
  });

  test('token endpoint 5xx → retryable 502; unreachable endpoint → 502 upstream_unreachable', async () => {
    emulator.faults.add({ path: '/token', action: { kind: 'status', status: 503, body: 'unavailable' } });
    await rejectsWith(provider().getAccessToken(), (error) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.status, 502);
      assert.equal(error.failure.retryable, true);
      assert.equal(error.failure.upstreamStatus, 503);
    });
    await rejectsWith(provider({ ...account, token_uri: 'http://127.0.0.1:1/token' }).getAccessToken(), (error) => {
      assert.equal(error.status, 502);
      assert.equal(error.code, 'upstream_unreachable');
    });
  });
});

describe('loadServiceAccount', () => {
  test('accepts an object, JSON text; refuses incomplete keys without echoing them', () => {
    assert.equal(loadServiceAccount(account).client_email, account.client_email);
    assert.equal(loadServiceAccount(`  ${JSON.stringify(account)}\n`).private_key_id, account.private_key_id);
    const incomplete = { ...account, client_email: '', token_uri: undefined } as unknown as ServiceAccountJson;
    assert.throws(() => loadServiceAccount(incomplete), (error: unknown) => {
      assert.ok(error instanceof ServiceAccountError);
      assert.match(error.message, /client_email, token_uri/);
      return true;
    });
    assert.throws(() => loadServiceAccount('{"private_key": "-----BEGIN PRIVATE KEY----- broken'), (error: unknown) => {
      assert.ok(error instanceof ServiceAccountError);
      assert.doesNotMatch(error.message, /BEGIN/);
      return true;
    });
    assert.throws(() => loadServiceAccount('/nonexistent/key.json'), /\/nonexistent\/key\.json \(ENOENT\)/);
    assert.throws(() => provider({ ...account, private_key: 'not a pem' }), /not a valid PEM/);
  });
});
