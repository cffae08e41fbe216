/**
 * Runs a seeded fuzz run against a FuzzWorld: cases generated lazily by index, a few in flight
 * at once, each answer judged, the ledger kept, then the after-run audit (crash, orphans).
 */
import { rm } from 'node:fs/promises';
import type { Operation } from './cases-edge.ts';
import type { FuzzCase, Outcome } from './case-types.ts';
import { generateCase } from './generate.ts';
import { judge } from './judge.ts';
import { auditOrphans, missingLive } from './orphans.ts';
import { startFuzzWorld, type FuzzWorld } from './world.ts';

export interface RunOptions {
  seed: number;
  cases: number;
  concurrency?: number;
  /** Time an answer may take (stalled bodies: the idle timeout plus this margin). */
  boundMs?: number;
  /** Only these case indexes (replaying findings). */
  only?: readonly number[];
  /** Case classes not run, matched as prefixes of the class name. */
  excluded?: readonly string[];
  onProgress?: (done: number, total: number) => void;
  /** Every case with its answer, as it finishes (the script's --log). */
  onCase?: (fuzzCase: FuzzCase, outcome: Outcome) => void;
}

export interface Finding {
  seed: number;
  index: number;
  klass: string;
  route: string;
  actor: string;
  detail: string;
  status: number;
  problem: string;
  body: string;
  sent: string;
}

export interface RunReport {
  seed: number;
  ran: number;
  skipped: number;
  durationMs: number;
  findings: Finding[];
  /** After-run problems: crash, orphans, half rows, leftover spool files. */
  audit: string[];
  /** Client-held plain ids no store has (informational). */
  missing: string[];
  /** route → status label → count. */
  byRoute: Map<string, Map<string, number>>;
  byClass: Map<string, number>;
}

function statusLabel(fuzzCase: FuzzCase, outcome: Outcome): string {
  if (outcome.status !== 0) return String(outcome.status);
  if (fuzzCase.owed === 'nothing') return 'aborted';
  return outcome.timedOut ? 'hang' : 'closed';
}

function count<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Routes README "Batches" names, fuzzed even while the OpenAPI document does not list them. */
const SPEC_OPERATIONS: readonly Operation[] = [
  { method: 'POST', path: '/v1/batches' },
  { method: 'GET', path: '/v1/batches' },
  { method: 'GET', path: '/v1/batches/{batch_id}' },
  { method: 'POST', path: '/v1/batches/{batch_id}/cancel' },
  { method: 'POST', path: '/v1/fine_tuning/jobs' },
  { method: 'GET', path: '/v1/fine_tuning/jobs' },
  { method: 'GET', path: '/v1/fine_tuning/jobs/{fine_tuning_job_id}' },
  { method: 'POST', path: '/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel' },
  { method: 'GET', path: '/v1/fine_tuning/jobs/{fine_tuning_job_id}/events' },
];

/** Every operation of the gateway's OpenAPI document, plus the SPEC's, in a stable order. */
async function operationsOf(url: string): Promise<Operation[]> {
  const document = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const listed = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
  const key = (operation: Operation) => `${operation.method} ${operation.path.replace(/\{[^}]+\}/g, '{}')}`;
  const seen = new Set(listed.map(key));
  return [...listed, ...SPEC_OPERATIONS.filter((operation) => !seen.has(key(operation)))];
}

export function isExcluded(klass: string, excluded: readonly string[]): boolean {
  return excluded.some((prefix) => klass === prefix || klass.startsWith(`${prefix}.`));
}

export async function runFuzz(fuzz: FuzzWorld, options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const boundMs = options.boundMs ?? 15_000;
  const operations = await operationsOf(fuzz.world.url);
  const indexes = options.only ?? Array.from({ length: options.cases }, (_, index) => index);
  const report: RunReport = { seed: options.seed, ran: 0, skipped: 0, durationMs: 0, findings: [], audit: [], missing: [], byRoute: new Map(), byClass: new Map() };
  const crashes: string[] = [];
  const onCrash = (error: unknown) => crashes.push(`uncaught in the gateway process: ${(error as Error)?.stack ?? String(error)}`.slice(0, 2000));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  // Which case uploaded which file name: orphans found afterwards then name their case.
  const tags = new Map<string, string>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const fuzzCase = generateCase(options.seed, index, operations);
      if (isExcluded(fuzzCase.klass, options.excluded ?? [])) {
        report.skipped += 1;
        continue;
      }
      if (fuzzCase.tag) tags.set(fuzzCase.tag, `case ${index} ${fuzzCase.klass}`);
      const outcome = await fuzzCase.run(fuzz.world, boundMs);
      report.ran += 1;
      options.onCase?.(fuzzCase, outcome);
      const routeCounts = report.byRoute.get(fuzzCase.route) ?? new Map<string, number>();
      report.byRoute.set(fuzzCase.route, routeCounts);
      count(routeCounts, statusLabel(fuzzCase, outcome));
      count(report.byClass, fuzzCase.klass);
      if (outcome.status >= 200 && outcome.status < 300 && fuzzCase.effect) applyEffect(fuzz, fuzzCase, outcome);
      for (const problem of judge(fuzzCase, outcome, boundMs)) {
        report.findings.push({
          seed: options.seed,
          index,
          klass: fuzzCase.klass,
          route: fuzzCase.route,
          actor: fuzzCase.actor,
          detail: fuzzCase.detail,
          status: outcome.status,
          problem,
          body: outcome.body.subarray(0, 300).toString('utf8'),
          sent: outcome.sent,
        });
      }
      done += 1;
      options.onProgress?.(done, indexes.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    // The gateway still answers, and what aborted requests left behind is gone by now or soon.
    const alive = await fetch(`${fuzz.world.url}/health/readiness`).then((response) => response.status, (error: unknown) => String(error));
    if (alive !== 200) crashes.push(`readiness after the run: ${alive}`);
    const audit = (await settledAudit(fuzz)).map((problem) => problem.replace(/\((fuzz-[a-z0-9]+\.[a-z]+)/g, (_, name: string) => `(${name}: ${tags.get(name) ?? 'no case'}`));
    report.audit = [...crashes, ...audit];
    report.missing = await missingLive(fuzz);
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  report.durationMs = Date.now() - started;
  return report;
}

function applyEffect(fuzz: FuzzWorld, fuzzCase: FuzzCase, outcome: Outcome): void {
  const effect = fuzzCase.effect!;
  if (effect.kind === 'upload') {
    try {
      const id = (JSON.parse(outcome.body.toString('utf8')) as { id?: unknown }).id;
      if (typeof id === 'string') fuzz.ledger.uploaded(id, fuzzCase.actor);
    } catch {
      // Not JSON: the judge reports it; nothing to record.
    }
    return;
  }
  if (effect.kind === 'user') {
    try {
      const userId = (JSON.parse(outcome.body.toString('utf8')) as { user_id?: unknown }).user_id;
      if (typeof userId === 'string') fuzz.ledger.users.add(userId);
    } catch {
      // Not JSON: the judge reports it.
    }
    return;
  }
  if (effect.ref) fuzz.ledger.removed(fuzz.world.poolId(effect.ref));
}

/** The audit, repeated until clean or 20 s passed: background clean-up of aborted requests may still run. */
async function settledAudit(fuzz: FuzzWorld): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const problems = await auditOrphans(fuzz);
    if (problems.length === 0 || Date.now() > deadline) return problems;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Starts a world, runs, closes: what the test and the script both do. */
export async function fuzzOnce(options: RunOptions): Promise<RunReport> {
  const fuzz = await startFuzzWorld();
  try {
    return await runFuzz(fuzz, options);
  } finally {
    await fuzz.close();
    await rm(fuzz.tempDir, { recursive: true, force: true });
  }
}
