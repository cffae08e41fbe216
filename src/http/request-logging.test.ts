import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import Fastify from 'fastify';
import { REDACTED_PATHS } from '../app.ts';
import { serializeRequest } from './log-redaction.ts';
import { lazyChildLoggers, OneLineLogController, RequestLines } from './request-logging.ts';

/** A fastify app logging as app.ts does; `direct`: with the lines written beside pino. */
async function logsOf(direct: boolean, path: string): Promise<string[]> {
  const logged: string[] = [];
  const stream = { write: (line: string) => void logged.push(line) };
  const lines = new RequestLines(stream, { pid: process.pid, hostname: hostname() }, new Set(['req', 'res', 'err', 'headers']));
  const app = Fastify({
    logger: { level: 'info', base: lines.base, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, serializers: { req: serializeRequest }, stream },
    logController: new OneLineLogController(direct ? lines : undefined),
    childLoggerFactory: lazyChildLoggers(direct ? lines : undefined),
    genReqId: () => 'req-1',
  });
  lines.attach(app.log);
  app.get('/things', async (request) => {
    request.log.info({ provider: 'openai', status: 200, skipped: undefined, ok: true, none: null, text: 'a "quoted" \u2028 line' }, 'upstream call');
    request.log.info({ headers: { authorization: 'Bearer sk-secret' } }, 'with headers');
    request.log.debug({ hidden: 1 }, 'below the level');
    return { ok: true };
  });
  await app.inject({ method: 'GET', url: path, headers: { authorization: 'Bearer sk-secret' } });
  await app.close();
  // The clock and the measured time differ between the two apps.
  return logged.map((line) => line.replace(/"time":\d+/, '"time":0').replace(/"responseTime":[\d.e-]+/, '"responseTime":0'));
}

test('lines written beside pino are byte for byte the lines pino writes', async () => {
  for (const path of ['/things', '/things?key=sk-abc&limit=2']) {
    const viaPino = await logsOf(false, path);
    const direct = await logsOf(true, path);
    assert.equal(viaPino.length, 3);
    assert.deepEqual(direct, viaPino);
    assert.match(direct[0]!, /^\{"level":30,"time":0,"pid":\d+,"hostname":".+","reqId":"req-1","provider":"openai","status":200,"ok":true,"none":null,"text":"a \\"quoted\\" \u2028 line","msg":"upstream call"\}\n$/);
    assert.match(direct[1]!, /"headers":\{"authorization":"\[redacted\]"\}/);
    assert.ok(!direct.join('').includes('sk-'), 'no key in the lines');
  }
});

test('only plain values under names pino does not handle are written directly', () => {
  const lines = new RequestLines({ write() {} }, { pid: 1, hostname: 'h' }, new Set(['req', 'headers']));
  assert.equal(lines.plainFields({ a: 1, b: 'x', c: undefined }), '"a":1,"b":"x"');
  assert.equal(lines.plainFields({ nested: { a: 1 } }), undefined);
  assert.equal(lines.plainFields({ headers: 'x' }), undefined);
  assert.equal(lines.plainFields({ req: 'x' }), undefined);
  assert.equal(lines.plainFields({ big: 1n }), undefined);
  assert.equal(lines.plainFields(new Error('x')), undefined);
  assert.equal(lines.plainFields('text'), undefined);
});
