/** The Vertex batch converters on exact lines (docs/wire-formats.md §1.10, §3.5). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomIdIndex, CustomIdSpool } from './custom-id-index.ts';
import { openAIBatchToVertex, splitLines, vertexOutputToOpenAI } from './vertex-batch-convert.ts';

async function collect(source: AsyncIterable<Buffer | string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of source) out.push(chunk.toString('utf8'));
  return out.join('').split('\n').filter((line) => line !== '');
}

/** Feeds text in tiny chunks so lines and multi-byte characters straddle chunk borders. */
async function* chunked(text: string, size = 3): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

const line = (customId: string, content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-2.5-flash', messages: [{ role: 'user', content }], ...extra } });

test('OpenAI batch lines become {"request": generateContent body} with only the row number in labels', async () => {
  const ids: Array<[number, string]> = [];
  const text = `${line('Request #1 — Ünïcode', 'What is 2+2?', { temperature: 0.2, max_tokens: 10 })}\r\n\n${line('r2', 'é')}`;
  const out = await collect(openAIBatchToVertex(chunked(text), { instance: 'v', onRow: (row, id) => ids.push([row, id]) }));
  assert.deepEqual(out.map((item) => JSON.parse(item)), [
    { request: { contents: [{ role: 'user', parts: [{ text: 'What is 2+2?' }] }], generationConfig: { temperature: 0.2, maxOutputTokens: 10 }, labels: { unifile_row: '0' } } },
    { request: { contents: [{ role: 'user', parts: [{ text: 'é' }] }], labels: { unifile_row: '1' } } },
  ]);
  assert.deepEqual(ids, [[0, 'Request #1 — Ünïcode'], [1, 'r2']]);
  assert.ok(!out.join('').includes('Request #1'), 'the custom_id is not in the Vertex input');
});

test('a bad input line is a 400 naming its line number', async () => {
  const cases: Array<[string, RegExp]> = [
    [`${line('a', 'x')}\nnot json`, /Line 2 .*not valid JSON/],
    [`${line('a', 'x')}\n{"method":"POST","body":{"messages":[]}}`, /Line 2 .*custom_id/],
    [`{"custom_id":"a","body":{}}`, /Line 1 .*messages/],
    [`${line('a', 'x')}\n${JSON.stringify({ custom_id: 'b', body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'gs://someone-else/secret.png' } }] }] } })}`, /Line 2 .*stored data \(gs:\/\/someone-else\/secret\.png\)/],
    [JSON.stringify({ custom_id: 'c', body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://storage.googleapis.com/other/x.png' } }] }] } }), /Line 1 .*stored data/],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(collect(openAIBatchToVertex(chunked(text), { instance: 'v', onRow: () => {} })), (error: { status?: number; message: string }) => error.status === 400 && message.test(error.message));
  }
});

const prediction = (row: number, text: string) =>
  JSON.stringify({
    request: { contents: [{ role: 'user', parts: [{ text: `q${row}` }] }], labels: { unifile_row: String(row) } },
    status: '',
    response: { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', avgLogprobs: -0.1 }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 }, modelVersion: 'gemini-2.5-flash' },
    processed_time: '2026-04-13T10:18:18.102004+00:00',
  });

test('predictions lines, out of order, come back as OpenAI batch output lines matched to their custom_ids', async () => {
  const failedLine = JSON.stringify({ request: { contents: [], labels: { unifile_row: '1' } }, status: 'Bad Request: {"error": {"code": 400, "message": "contents is empty"}}', processed_time: '2026-04-13T10:18:18Z' });
  const shard = [prediction(2, 'four'), failedLine, prediction(0, 'zero'), '{"torn'].join('\n');
  const ids = ['first', 'second', 'third'];
  const options = { customId: (row: number) => ids[row], model: 'gemini-2.5-flash', seed: 'projects/1/locations/l/batchPredictionJobs/9' };
  const ok = (await collect(vertexOutputToOpenAI(chunked(shard, 7), { ...options, keep: 'succeeded' }))).map((item) => JSON.parse(item));
  assert.deepEqual(ok.map((item) => item.custom_id), ['third', 'first']);
  assert.match(ok[0].id, /^batch_req_[0-9a-f]{24}$/);
  assert.equal(ok[0].error, null);
  assert.equal(ok[0].response.status_code, 200);
  assert.match(ok[0].response.request_id, /^req_/);
  assert.deepEqual(ok[0].response.body.choices, [{ index: 0, message: { role: 'assistant', content: 'four', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
  assert.equal(ok[0].response.body.object, 'chat.completion');
  assert.equal(ok[0].response.body.model, 'gemini-2.5-flash');
  assert.equal(ok[0].response.body.created, 1776075498);
  assert.deepEqual(ok[0].response.body.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  const failed = (await collect(vertexOutputToOpenAI(chunked(shard, 5), { ...options, keep: 'failed' }))).map((item) => JSON.parse(item));
  assert.equal(failed.length, 1);
  assert.equal(failed[0].custom_id, 'second');
  assert.equal(failed[0].response.status_code, 400);
  assert.match(failed[0].response.body.error.message, /contents is empty/);
  // Stable: the same output converts to the same bytes (the recorded size must stay exact).
  const again = (await collect(vertexOutputToOpenAI(chunked(shard, 11), { ...options, keep: 'succeeded' }))).map((item) => JSON.parse(item));
  assert.deepEqual(again, ok);
});

test('splitLines keeps multi-byte characters split across chunks and numbers lines', async () => {
  const lines: Array<[number, string]> = [];
  for await (const { line: text, number } of splitLines(chunked('ä€😀\r\nb\n\nc', 1))) lines.push([number, text]);
  assert.deepEqual(lines, [[1, 'ä€😀'], [2, 'b'], [3, ''], [4, 'c']]);
});

test('custom_ids go through a disk spool and come back by row from a disk index, whatever their bytes', async () => {
  const root = mkdtempSync(join(tmpdir(), 'unifile-ids-test-'));
  const ids = ['plain', 'Ünïcode — 😀', 'with\nnewline and "quotes"', '', 'x'.repeat(70_000), ...Array.from({ length: 5000 }, (_, index) => `req-${index}`)];
  const spool = await CustomIdSpool.create(root);
  for (const id of ids) await spool.append(id);
  const bytes = await spool.finish();
  const text = readFileSync(spool.path);
  assert.equal(text.length, bytes);
  assert.equal(spool.count, ids.length);
  // Loaded back from the object's bytes in awkward chunks (lines straddle them).
  const index = await CustomIdIndex.load(chunked(text.toString('utf8'), 4093), root);
  assert.equal(index.rows, ids.length);
  for (const row of [0, 1, 2, 3, 4, 5, 2500, ids.length - 1]) assert.equal(index.get(row), ids[row], `row ${row}`);
  assert.equal(index.get(ids.length), undefined);
  assert.equal(index.get(-1), undefined);
  assert.equal(index.get(1.5), undefined);
  await index.close();
  await spool.remove();
  assert.deepEqual(readdirSync(root), [], 'temp files removed');
});

/** The ids the converter must mint (sha256 of seed, salt and row: the same bytes as before crypto.hash). */
const stable = (seed: string, row: number | string, salt: string) => createHash('sha256').update(`${seed}\u0000${salt}\u0000${row}`).digest('hex').slice(0, 24);

test('predictions → OpenAI output bytes, exactly: unicode, escapes, a 1 MB answer, out of order, errors, torn and blank lines', async () => {
  const seed = 'projects/p/locations/l/batchPredictionJobs/42';
  const texts: Record<number, string> = {
    0: 'quote " backslash \\ newline \n tab \t nul \u0000 line-sep \u2028 emoji 😀 ä',
    1: 'y'.repeat(1024 * 1024),
    3: '',
  };
  const ids = ['Ünïcode — id', 'with\nnewline and "quotes"', 'never answered', 'empty answer'];
  const answer = (row: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      request: { contents: [{ role: 'user', parts: [{ text: `q${row} — ✓` }] }], labels: { unifile_row: String(row) } },
      status: '',
      response: { candidates: [{ content: { role: 'model', parts: [{ text: texts[row] }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 }, ...extra },
      processed_time: '2026-04-13T10:18:18Z',
    });
  const failed = JSON.stringify({ request: { labels: { unifile_row: '2' } }, status: '503 Service Unavailable', processed_time: '2026-04-13T10:18:18Z' });
  const unknownRow = JSON.stringify({ request: { labels: { unifile_row: '99' } }, status: '', response: { candidates: [] } });
  const shard = ['', answer(3), '{"torn', answer(1, { responseId: 'resp-1' }), failed, unknownRow, `${answer(0)}\r`, ''].join('\n');
  const expected = (row: number, body: Record<string, unknown>) =>
    `${JSON.stringify({ id: `batch_req_${stable(seed, row, 'line')}`, custom_id: ids[row], response: { status_code: 200, request_id: `req_${stable(seed, row, 'request')}`, body }, error: null })}\n`;
  const completion = (row: number, id: string) => ({
    id,
    object: 'chat.completion',
    created: 1776075498,
    model: 'gemini-2.5-flash',
    choices: [{ index: 0, message: { role: 'assistant', content: texts[row], refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  });
  const want = [expected(3, completion(3, `chatcmpl-${stable(seed, 3, 'completion')}`)), expected(1, completion(1, 'chatcmpl-resp-1')), expected(0, completion(0, `chatcmpl-${stable(seed, 0, 'completion')}`))].join('');
  const options = { customId: (row: number) => ids[row], model: 'gemini-2.5-flash', seed };
  for (const size of [1 + 2 ** 16, 4093, 1 << 22]) {
    const out: string[] = [];
    for await (const piece of vertexOutputToOpenAI(chunked(shard, size), { ...options, keep: 'succeeded' })) out.push(piece);
    assert.equal(out.join(''), want, `chunk size ${size}`);
  }
  const errorsOut: string[] = [];
  for await (const piece of vertexOutputToOpenAI(chunked(shard, 4093), { ...options, keep: 'failed' })) errorsOut.push(piece);
  assert.equal(
    errorsOut.join(''),
    `${JSON.stringify({ id: `batch_req_${stable(seed, 2, 'line')}`, custom_id: ids[2], response: { status_code: 503, request_id: `req_${stable(seed, 2, 'request')}`, body: { error: { message: '503 Service Unavailable', type: 'invalid_request_error', param: null, code: null } } }, error: null })}\n`,
  );
});

test('OpenAI input → Vertex input bytes, exactly, and the custom_ids in row order, whatever the chunking', async () => {
  const input = [line('é — "q"', 'ünï\u2028 \\ 😀'), '', line('long', 'z'.repeat(300_000), { temperature: 0 })].join('\r\n');
  const want =
    `${JSON.stringify({ request: { contents: [{ role: 'user', parts: [{ text: 'ünï\u2028 \\ 😀' }] }], labels: { unifile_row: '0' } } })}\n` +
    `${JSON.stringify({ request: { contents: [{ role: 'user', parts: [{ text: 'z'.repeat(300_000) }] }], generationConfig: { temperature: 0 }, labels: { unifile_row: '1' } } })}\n`;
  for (const size of [7, 65_536]) {
    const rows: Array<[number, string]> = [];
    const out: string[] = [];
    for await (const piece of openAIBatchToVertex(chunked(input, size), { instance: 'v', onRow: (row, id) => rows.push([row, id]) })) out.push(piece);
    assert.equal(out.join(''), want, `chunk size ${size}`);
    assert.deepEqual(rows, [[0, 'é — "q"'], [1, 'long']]);
  }
});
