import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaultList, faultRuleFromJson, type FaultAction } from '../../src/emulators/emulator-faults.ts';

const fail: FaultAction = { kind: 'status', status: 500 };

/** Which of `count` calls to method/path a fault fired on (1-based). */
function firings(faults: FaultList, count: number, method = 'GET', path = '/v1/files'): number[] {
  const fired: number[] = [];
  for (let call = 1; call <= count; call += 1) if (faults.take(method, path)) fired.push(call);
  return fired;
}

describe('fault rules', () => {
  test('a bare rule fires once, on the first matching call', () => {
    const faults = new FaultList();
    faults.add({ action: fail });
    assert.deepEqual(firings(faults, 3), [1]);
  });

  test('nth starts the rule on that matching call; times counts firings; Infinity never stops', () => {
    const nth = new FaultList();
    nth.add({ nth: 2, times: 2, action: fail });
    assert.deepEqual(firings(nth, 5), [2, 3]);
    const always = new FaultList();
    always.add({ times: Infinity, action: fail });
    assert.deepEqual(firings(always, 4), [1, 2, 3, 4]);
  });

  test('method is case-insensitive; string paths are exact or a prefix ending with *', () => {
    const faults = new FaultList();
    faults.add({ method: 'post', path: '/v1/files/*', times: Infinity, action: fail });
    assert.equal(faults.take('POST', '/v1/files'), undefined);
    assert.equal(faults.take('GET', '/v1/files/file-1'), undefined);
    assert.deepEqual(faults.take('POST', '/v1/files/file-1'), fail);
    const exact = new FaultList();
    exact.add({ path: '/v1/files', times: Infinity, action: fail });
    assert.equal(exact.take('GET', '/v1/files/x'), undefined);
    assert.deepEqual(exact.take('GET', '/v1/files'), fail);
  });

  test('every matching rule counts the call; the first eligible rule wins', () => {
    const faults = new FaultList();
    const drop: FaultAction = { kind: 'drop' };
    faults.add({ path: /content$/, action: drop });
    faults.add({ path: /content$/, nth: 2, action: fail });
    assert.deepEqual(
      [1, 2, 3].map(() => faults.take('GET', '/v1/files/f/content')),
      [drop, fail, undefined],
    );
  });

  test('JSON rules accept {"regex"} paths and "Infinity"; bad rules are refused', () => {
    const rule = faultRuleFromJson({ method: 'GET', path: { regex: '^/V1/', flags: 'i' }, times: 'Infinity', action: { kind: 'delay', ms: 5 } });
    assert.ok(rule.path instanceof RegExp && rule.path.test('/v1/files'));
    assert.equal(rule.times, Infinity);
    assert.throws(() => faultRuleFromJson({ action: { kind: 'status', status: 99 } }), TypeError);
    assert.throws(() => faultRuleFromJson({ nth: 0, action: fail }), TypeError);
    assert.throws(() => faultRuleFromJson({ path: 3, action: fail }), TypeError);
    assert.throws(() => new FaultList().add({ action: { kind: 'delay', ms: -1 } }), TypeError);
  });

  test('clear removes every rule', () => {
    const faults = new FaultList();
    faults.add({ times: Infinity, action: fail });
    faults.clear();
    assert.deepEqual([faults.rules.length, firings(faults, 2)], [0, []]);
  });
});
