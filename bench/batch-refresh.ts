/**
 * Refreshing 1,000 running batches in the background (README "Batches"): two gateway runtimes on one
 * Postgres database run the batch refresher (lease + FOR UPDATE SKIP LOCKED) against an OpenAI
 * emulator whose batches never finish. Measures provider calls per minute, how the work splits
 * between the instances, how long one full pass over all batches takes, and checks that no
 * batch is refreshed twice within one interval (no duplicates).
 *
 *   node --import tsx bench/batch-refresh.ts [--batches 1000] [--interval 5] [--duration 60]
 */
import { Readable } from 'node:stream';
import { buildConfig } from '../src/config/load-config.ts';
import { adminPrincipal } from '../src/core/access-policy.ts';
import { startOpenAIEmulator } from '../src/emulators/openai-emulator.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { createBenchDatabase } from './support/postgres.ts';
import { commandText, flag } from './support/measure.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';

const BATCHES = flag('batches', 1000);
const INTERVAL_S = flag('interval', 5);
const DURATION_S = flag('duration', 60);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function main(): Promise<void> {
  await checkQuietMachine();
  // Batches that stay in `validating` for the whole run: every refresh finds them unfinished.
  const emulator = await startOpenAIEmulator({ batchStepMs: 24 * 3600 * 1000 });
  const database = await createBenchDatabase();
  const raw = {
    model_list: [{ model_name: 'gpt-4o-mini-openai', litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulator.apiBase, api_key: emulator.apiKey }, model_info: { id: 'oai-1' } }],
    general_settings: { master_key: 'sk-bench', database_url: database.url, batch_refresh_interval_seconds: INTERVAL_S, log_level: 'warn' },
  };
  const runtimes: Runtime[] = [await createRuntime(buildConfig(raw, {})), await createRuntime(buildConfig(raw, {}))];
  try {
    const context = { requestId: 'bench', logger: silent };
    const admin = adminPrincipal();
    // One managed batch file, then BATCHES batches over it (setup, not measured).
    const body = Buffer.from(`${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini-openai', messages: [{ role: 'user', content: 'hi' }] } })}\n`);
    const file = await runtimes[0]!.managedFiles.create(
      admin,
      { purpose: 'batch', expiresAfter: undefined, targetModelNames: ['gpt-4o-mini-openai'], filename: 'in.jsonl', mimeType: 'application/jsonl', body: { open: () => Readable.from([body]), bytes: body.length } },
      context,
    );
    for (let start = 0; start < BATCHES; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, BATCHES - start) }, () =>
          runtimes[0]!.batches.create(admin, { inputFileId: file.id, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null }, context),
        ),
      );
    }
    const providerIds = new Set(emulator.batches.batches.keys());
    emulator.calls.length = 0;
    // Every batch is due now; both instances start refreshing at the same moment.
    const started = Date.now();
    for (const runtime of runtimes) runtime.startBackgroundWork(silent);
    let firstPassMs: number | undefined;
    // When each call was first seen (sampled every 50 ms): the emulator's log has no clock.
    const seenAt: number[] = [];
    while (Date.now() - started < DURATION_S * 1000) {
      while (seenAt.length < emulator.calls.length) seenAt.push(Date.now());
      if (firstPassMs === undefined) {
        const seen = new Set(emulator.calls.filter((call) => call.method === 'GET').map((call) => call.path.split('/').pop()));
        if ([...providerIds].every((id) => seen.has(id))) firstPassMs = Date.now() - started;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const elapsedS = (Date.now() - started) / 1000;
    for (const runtime of runtimes) await runtime.close();
    runtimes.length = 0;

    const retrieves = emulator.calls.slice(0, seenAt.length).flatMap((call, index) => (call.method === 'GET' && call.path.startsWith('/v1/batches/') ? [{ call, at: seenAt[index]! }] : []));
    const byBatch = new Map<string, number[]>();
    for (const { call, at } of retrieves) {
      const id = call.path.split('/').pop()!;
      byBatch.set(id, [...(byBatch.get(id) ?? []), at]);
    }
    // Two retrieves of one batch closer than the interval (less 100 ms sampling slack) = a duplicate.
    let duplicates = 0;
    let minGapMs = Infinity;
    for (const times of byBatch.values()) {
      times.sort((a, b) => a - b);
      for (let index = 1; index < times.length; index++) {
        const gap = times[index]! - times[index - 1]!;
        minGapMs = Math.min(minGapMs, gap);
        if (gap < INTERVAL_S * 1000 - 100) duplicates += 1;
      }
    }
    const counts = [...byBatch.values()].map((list) => list.length);
    const expectedMax = Math.ceil(elapsedS / INTERVAL_S) + 1;
    const tooMany = counts.filter((count) => count > expectedMax).length;
    const failed = retrieves.filter(({ call }) => call.status !== 200).length;
    const rows: Array<Array<string | number>> = [
      ['running batches', BATCHES],
      ['refresh interval (s)', INTERVAL_S],
      ['measured for (s)', fixed(elapsedS)],
      ['provider retrieve calls', retrieves.length],
      ['provider calls per minute', fixed((retrieves.length / elapsedS) * 60, 0)],
      ['ideal calls per minute (batches × 60 / interval)', fixed((BATCHES * 60) / INTERVAL_S, 0)],
      ['first pass over every batch (ms, two instances)', firstPassMs ?? 'not reached'],
      ['retrieves per batch min / median / max', `${Math.min(...counts)} / ${counts.sort((a, b) => a - b)[Math.floor(counts.length / 2)]} / ${Math.max(...counts)}`],
      [`batches refreshed more than ceil(duration / interval) + 1 = ${expectedMax} times`, tooMany],
      ['duplicates: two retrieves of one batch within one interval', duplicates],
      ['smallest gap between two retrieves of one batch (ms)', Number.isFinite(minGapMs) ? minGapMs : 'n/a'],
      ['batches never refreshed', BATCHES - byBatch.size],
      ['failed provider calls', failed],
    ];
    await publish({
      key: 'batch-refresh',
      title: 'Refreshing 1,000 running batches: two instances, one Postgres',
      command: commandText('bench/batch-refresh.ts'),
      body: [
        `Setup: ${BATCHES} batches created through the batches service on an in-process OpenAI emulator whose batches never leave \`validating\`; two gateway runtimes (in this process) on one Postgres 15 database, each running the background refresher (\`batch_refresh_interval_seconds: ${INTERVAL_S}\`, 100 leased per round with \`FOR UPDATE SKIP LOCKED\`, a full round followed at once by the next).`,
        '',
        table(['measure', 'value'], rows),
        '',
        `A batch is leased at most once per interval (no duplicates above); when one pass over all batches takes longer than the interval — CPU-bound here: the emulator, both runtimes and their Postgres backends share the machine's 2 cores with other work — each batch is refreshed once per pass instead, so calls per minute fall below the ideal rather than doubling up.`,
      ].join('\n'),
    });
  } finally {
    for (const runtime of runtimes) await runtime.close();
    await emulator.close();
    await database.drop();
  }
}


await main();
