import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDepthExceeds } from '../core/json-depth.ts';
import { parseJsonBody } from './json-body.ts';

test('depth: brackets inside strings and escaped quotes do not count; the limit is exact', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  assert.equal(jsonDepthExceeds(nested(64), 64), false);
  assert.equal(jsonDepthExceeds(nested(65), 64), true);
  assert.equal(jsonDepthExceeds(`{"a":"${'['.repeat(500)}"}`, 64), false);
  assert.equal(jsonDepthExceeds(`{"a":"x\\"${'{'.repeat(100)}\\\\"}`, 64), false);
  assert.equal(jsonDepthExceeds(`["\\\\", ${nested(70)}]`, 64), true);
  assert.equal(jsonDepthExceeds(`{"k\\"[": ${nested(63)}}`, 64), false);
  assert.equal(jsonDepthExceeds(`{"k\\"[": ${nested(64)}}`, 64), true);
});

test('parseJsonBody: empty is no body; NUL, lone surrogates and __proto__ are 400; valid pairs pass', () => {
  assert.equal(parseJsonBody(''), undefined);
  assert.equal(parseJsonBody('  \r\n'), undefined);
  assert.deepEqual(parseJsonBody('{"a":"\\ud83d\\ude00 caf\\u00e9"}'), { a: '😀 café' });
  assert.throws(() => parseJsonBody('{"a":["ok","\\u0000"]}'), (error: { param: string }) => error.param === 'a[1]');
  assert.throws(() => parseJsonBody('{"a":{"b":"\\uDC00x"}}'), (error: { param: string }) => error.param === 'a.b');
  assert.throws(() => parseJsonBody('{"a":1,"__proto__":{"x":1}}'), /__proto__/);
  assert.throws(() => parseJsonBody('{"constructor":{"prototype":{}}}'), /constructor/);
  assert.deepEqual(parseJsonBody('{"text":"about __proto__ and constructor"}'), { text: 'about __proto__ and constructor' });
  assert.throws(() => parseJsonBody('{"a":'), /not valid JSON/);
});
