import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnifiedId, mintId } from './ids.ts';

test('unified ids are prefixed, marked, URL-safe, short and distinct', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => mintId('file')));
  assert.equal(ids.size, 1000);
  for (const id of ids) {
    assert.ok(isUnifiedId('file', id), id);
    assert.ok(id.length <= 64);
    assert.equal(encodeURIComponent(id), id);
  }
  assert.ok(isUnifiedId('batch', mintId('batch')));
  assert.ok(isUnifiedId('fineTuningJob', mintId('fineTuningJob')));
  assert.ok(!isUnifiedId('file', 'file-abc123DEF456ghi789JKL0'), 'an OpenAI id is not unified');
  assert.ok(!isUnifiedId('file', `file-${'a'.repeat(32)}`), 'an Azure id is not unified');
});
