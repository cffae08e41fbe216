/**
 * A file part whose own Content-Type holds a NUL or another control character (found by the fuzz
 * suite, class upload.junk-part-headers.nul-content-type): 400 in the envelope, in both field
 * orders, plain and managed — never a 502 from the upstream client refusing the header, never a
 * 503 from the database refusing the NUL, nothing sent upstream and no journal row left.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { MASTER_KEY, startHarness, type Harness } from './support/gateway-harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness({
    config: (emulators) => ({
      files_settings: [
        { custom_llm_provider: 'openai', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' },
        { custom_llm_provider: 'gemini', api_key: 'gemini-emulator-key', api_base: emulators.urls.gemini },
      ],
      model_list: [
        { model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
        { model_name: 'gemini-api', litellm_params: { model: 'gemini/gemini-2.0-flash', api_key: 'gemini-emulator-key', api_base: emulators.urls.gemini } },
      ],
    }),
  });
});
after(async () => harness.close());

function post(path: string, body: Buffer, boundary: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${harness.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
    });
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function form(boundary: string, partType: string, fields: ReadonlyArray<readonly [string, string]>, fieldsFirst: boolean): Buffer {
  const file = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: ${partType}\r\n\r\nhello\r\n`;
  const text = fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('');
  return Buffer.from(`${fieldsFirst ? text + file : file + text}--${boundary}--\r\n`, 'latin1');
}

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const result = (await harness.runtime.database.db.execute(query)) as unknown as { rows: Array<{ n: number }> };
  return Number(result.rows[0]!.n);
}

const uploadsUpstream = () =>
  harness.emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files').length +
  harness.emulators.gemini.calls.filter((call) => call.method === 'POST').length;

for (const [label, path, fields] of [
  ['plain Gemini', '/gemini/v1/files', [['purpose', 'user_data']]],
  ['plain OpenAI', '/v1/files', [['purpose', 'user_data']]],
  ['managed on OpenAI and Gemini', '/v1/files', [['purpose', 'user_data'], ['target_model_names', 'gpt,gemini-api']]],
] as const) {
  for (const fieldsFirst of [true, false]) {
    for (const partType of ['\u0000', 'text/plain\u0000', 'text/\u0001plain', 'text/plain\u007f']) {
      test(`${label}, ${fieldsFirst ? 'fields first' : 'file first'}: part Content-Type ${JSON.stringify(partType).replace(/\x7f/g, "\\u007f")} → 400, nothing upstream`, async () => {
        const before = uploadsUpstream();
        const answer = await post(path, form("b0undary", partType, fields, fieldsFirst), 'b0undary');
        assert.equal(answer.status, 400, answer.body);
        const body = JSON.parse(answer.body) as { error: Record<string, unknown> };
        assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
        assert.equal(body.error.param, 'file');
        assert.equal(body.error.code, 'invalid_value');
        assert.equal(uploadsUpstream(), before, 'no upload reached a provider');
        assert.equal(await count(sql`SELECT count(*)::int AS n FROM provider_copy_journal`), 0, 'no journal row');
        assert.equal(await count(sql`SELECT count(*)::int AS n FROM managed_files`), 0, 'no managed row');
      });
    }
  }
}

test('an ordinary part Content-Type with parameters still uploads', async () => {
  const answer = await post('/v1/files', form('b0undary', 'text/plain; charset=utf-8', [['purpose', 'user_data']], true), 'b0undary');
  assert.equal(answer.status, 200, answer.body);
  assert.match((JSON.parse(answer.body) as { id: string }).id, /^file-/);
});
