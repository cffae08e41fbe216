import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileObject } from '../core/openai-types.ts';
import { isDurableSource, managedExpiry, reportedCopy, stateOf } from './copy-state.ts';

const file = (status: FileObject['status'], expires_at: number | null): FileObject => ({
  id: 'x', object: 'file', bytes: 1, created_at: 0, filename: 'x', purpose: 'user_data', status, expires_at, status_details: null,
});
const at = (seconds: number) => new Date(seconds * 1000);

test('a reported status is a copy state', () => {
  assert.deepEqual([stateOf(file('uploaded', null)), stateOf(file('processed', null)), stateOf(file('error', null))], ['processing', 'active', 'failed']);
});

test('a provider expiry is kept only when it comes before the managed file ends', () => {
  assert.deepEqual(reportedCopy(file('processed', 100), null), { upstreamState: 'active', upstreamExpiresAt: at(100) });
  assert.deepEqual(reportedCopy(file('processed', 100), at(50)), { upstreamState: 'active', upstreamExpiresAt: null });
  assert.deepEqual(reportedCopy(file('uploaded', null), at(50)), { upstreamState: 'processing', upstreamExpiresAt: null });
});

test('the managed expiry is the requested one while a durable copy exists, else the first copy to go', () => {
  const gemini = { transformed: false, upstreamExpiresAt: at(200) };
  const openai = { transformed: false, upstreamExpiresAt: null };
  const batchCopy = { transformed: true, upstreamExpiresAt: null };
  assert.ok(isDurableSource(openai) && !isDurableSource(gemini) && !isDurableSource(batchCopy));
  assert.equal(managedExpiry(null, [gemini, openai]), null);
  assert.deepEqual(managedExpiry(null, [gemini, { ...gemini, upstreamExpiresAt: at(150) }]), at(150));
  assert.deepEqual(managedExpiry(at(100), [gemini]), at(100));
  assert.deepEqual(managedExpiry(null, [gemini, batchCopy]), at(200), 'a rewritten batch copy cannot re-make the original');
  assert.equal(managedExpiry(null, [batchCopy]), null);
});
