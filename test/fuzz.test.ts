/**
 * The seeded fuzz suite (issue 7, README "Endpoints" (errors)): a few thousand hostile requests over every route —
 * malformed multipart uploads in both field orders, odd ids and queries, malformed chats, wrong
 * types on the key routes, unknown routes and methods, broken framing, oversize URLs and headers,
 * valid and invalid keys — judged on: no 5xx, every 4xx in the OpenAI envelope, an answer (or a
 * close, where the framing allows it) within the bound, bad input refused, well-formed input
 * served, nobody else's file served, no crash, and nothing orphaned in the emulators' stores, the
 * database or the spool directory afterwards.
 *
 * FUZZ_SEED (default 20261203) and FUZZ_CASES (default 2000) choose the run; the same seed
 * replays the same cases. `npm run fuzz -- --cases 10000 --seed N` is the long run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXCLUDED_CLASSES } from './fuzz/excluded.ts';
import { seedFrom } from './fuzz/random.ts';
import { describeRun } from './fuzz/report.ts';
import { fuzzOnce } from './fuzz/runner.ts';

const DEFAULT_SEED = 20261203;

test('fuzz: hostile requests over every route never 5xx, stay in the envelope, never hang, never orphan', async (t) => {
  const seed = process.env.FUZZ_SEED ? seedFrom(process.env.FUZZ_SEED) : DEFAULT_SEED;
  const cases = Number(process.env.FUZZ_CASES ?? 2000);
  // A generous bound: the suite shares two cores with other test files; stalled bodies end at the 2 s idle timeout.
  const report = await fuzzOnce({ seed, cases, concurrency: 8, boundMs: 30_000, excluded: EXCLUDED_CLASSES.map(([name]) => name) });
  const text = describeRun(report);
  t.diagnostic(`FUZZ_SEED=${seed}: ${report.ran} cases on ${report.byRoute.size} routes in ${(report.durationMs / 1000).toFixed(1)} s, ${report.skipped} in excluded classes`);
  assert.ok(report.ran > cases * 0.9, `most cases ran (${report.ran}/${cases})`);
  assert.ok(report.byRoute.size >= 15, `cases reached ${report.byRoute.size} routes`);
  assert.deepEqual(report.audit, [], `after-run audit failed for FUZZ_SEED=${seed}\n${text}`);
  assert.equal(report.findings.length, 0, `findings for FUZZ_SEED=${seed}\n${text}`);
});
