/**
 * The long fuzz run: `npm run fuzz -- --cases 10000 --seed N [--concurrency 8] [--only 3,17]
 * [--markdown out.md] [--log cases.jsonl] [--all]`. Prints the summary by route and status and every finding group;
 * exits 1 when anything was found. Case classes listed in test/fuzz/excluded.ts are skipped
 * unless --all is given.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXCLUDED_CLASSES } from '../test/fuzz/excluded.ts';
import { seedFrom } from '../test/fuzz/random.ts';
import { describeRun, findingsMarkdown } from '../test/fuzz/report.ts';
import { fuzzOnce } from '../test/fuzz/runner.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    only: { type: 'string' },
    markdown: { type: 'string' },
    log: { type: 'string' },
    all: { type: 'boolean', default: false },
  },
});

const seed = seedFrom(values.seed ?? process.env.FUZZ_SEED);
const cases = Number(values.cases);
const only = values.only?.split(',').map(Number);
process.stdout.write(`fuzz: seed ${seed}, ${only ? `cases ${only.join(',')}` : `${cases} cases`}\n`);
let lastPrint = 0;
const log = values.log ? createWriteStream(values.log) : undefined;
const report = await fuzzOnce({
  seed,
  cases,
  concurrency: Number(values.concurrency),
  ...(only ? { only } : {}),
  excluded: values.all ? [] : EXCLUDED_CLASSES.map(([name]) => name),
  ...(log
    ? {
        onCase: (fuzzCase, outcome) =>
          log.write(`${JSON.stringify({ index: fuzzCase.index, klass: fuzzCase.klass, route: fuzzCase.route, actor: fuzzCase.actor, detail: fuzzCase.detail, status: outcome.status, ms: outcome.ms, body: outcome.body.subarray(0, 300).toString('utf8') })}\n`),
      }
    : {}),
  onProgress: (done, total) => {
    if (Date.now() - lastPrint < 5000) return;
    lastPrint = Date.now();
    process.stderr.write(`  ${done}/${total}\n`);
  },
});
process.stdout.write(`${describeRun(report)}\n`);
if (values.markdown) {
  const command = `npm run fuzz -- --cases ${cases} --seed ${seed}${values.all ? ' --all' : ''}`;
  await writeFile(values.markdown, findingsMarkdown(report, command));
}
process.exit(report.findings.length > 0 || report.audit.length > 0 ? 1 : 0);
