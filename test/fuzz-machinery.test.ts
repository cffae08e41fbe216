/**
 * The fuzz suite's own parts: the same seed gives the same cases, the judge tells the OpenAI
 * envelope from framework bodies, and the raw HTTP reader handles Content-Length, chunked and
 * close-delimited answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FuzzCase, Outcome } from './fuzz/case-types.ts';
import { generateCase } from './fuzz/generate.ts';
import { envelopeProblems, judge } from './fuzz/judge.ts';
import { parseResponse } from './fuzz/raw-http.ts';

const OPERATIONS = [
  { method: 'GET', path: '/v1/files/{file_id}' },
  { method: 'POST', path: '/v1/chat/completions' },
];

function describe(fuzzCase: FuzzCase): string {
  return JSON.stringify([fuzzCase.klass, fuzzCase.route, fuzzCase.actor, fuzzCase.detail, fuzzCase.owed, fuzzCase.expect, fuzzCase.foreign]);
}

test('the same seed and index give the same case; other seeds give other cases', () => {
  const first = Array.from({ length: 300 }, (_, index) => describe(generateCase(42, index, OPERATIONS)));
  const again = Array.from({ length: 300 }, (_, index) => describe(generateCase(42, index, OPERATIONS)));
  const other = Array.from({ length: 300 }, (_, index) => describe(generateCase(43, index, OPERATIONS)));
  assert.deepEqual(again, first);
  assert.ok(other.filter((text, index) => text === first[index]).length < 30, 'another seed is another run');
  // Cases do not depend on their neighbours: case 17 alone is case 17 of the run.
  assert.equal(describe(generateCase(42, 17, OPERATIONS)), first[17]);
  const classes = new Set(first.map((text) => JSON.parse(text)[0] as string));
  assert.ok(classes.size > 40, `300 cases span many classes (${classes.size})`);
});

function outcome(status: number, body: string, contentType = 'application/json; charset=utf-8'): Outcome {
  return { status, headers: { 'content-type': contentType }, body: Buffer.from(body), timedOut: false, ms: 1, sent: 'GET /x' };
}

test('the judge accepts only the OpenAI envelope with real values or null', () => {
  assert.deepEqual(envelopeProblems(outcome(400, '{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"x"}}')), []);
  assert.match(envelopeProblems(outcome(400, '{"error":"Bad Request","message":"Client Error","statusCode":400}'))[0]!, /outside the OpenAI envelope/);
  assert.match(envelopeProblems(outcome(400, '{"error":{"message":"m","type":"None","param":null,"code":null}}'))[0]!, /error.type is the string 'None'/);
  assert.match(envelopeProblems(outcome(400, '{"error":{"message":"","type":null,"param":null,"code":null}}'))[0]!, /message/);
  assert.deepEqual(envelopeProblems(outcome(417, '', '')), ["4xx content-type ''", '4xx body is not JSON']);
});

test('the judge: 5xx, hangs, closes, bad input accepted, another owner served', () => {
  const base = { index: 0, klass: 'k', route: 'r', actor: 'alice', detail: '', owed: 'answer', run: async () => outcome(200, '{}') } as FuzzCase;
  assert.deepEqual(judge(base, outcome(502, '{"error":{"message":"m","type":"t","param":null,"code":"c"}}'), 1000), ['502 answered']);
  assert.deepEqual(judge(base, { ...outcome(0, ''), timedOut: true }, 1000), ['no answer and no close within 1000 ms']);
  assert.deepEqual(judge(base, outcome(0, ''), 1000), ['connection closed without an answer']);
  assert.deepEqual(judge({ ...base, owed: 'answer-or-close' }, outcome(0, ''), 1000), []);
  assert.deepEqual(judge({ ...base, owed: 'nothing' }, outcome(0, ''), 1000), []);
  assert.deepEqual(judge({ ...base, expect: 'failure' }, outcome(200, '{}'), 1000), ['bad input accepted (2xx)']);
  assert.deepEqual(judge({ ...base, foreign: true }, outcome(200, '{}'), 1000), ["another owner's resource served (2xx)"]);
  assert.deepEqual(judge({ ...base, expect: 'success' }, outcome(404, '{"error":{"message":"m","type":"t","param":null,"code":"c"}}'), 1000), ['well-formed request refused (404)']);
});

test('raw answers: content-length, chunked (with an interim 100), and close-delimited', () => {
  const lengthAnswer = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\nhello');
  assert.equal(parseResponse(lengthAnswer.subarray(0, lengthAnswer.length - 1), false), undefined);
  assert.deepEqual(parseResponse(lengthAnswer, false)?.body.toString(), 'hello');
  const chunked = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
  const parsed = parseResponse(chunked, false)!;
  assert.equal(parsed.status, 200);
  assert.equal(parsed.body.toString(), 'abcde');
  const closeDelimited = Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n{"a":1}');
  assert.equal(parseResponse(closeDelimited, false), undefined);
  assert.equal(parseResponse(closeDelimited, true)?.body.toString(), '{"a":1}');
});
