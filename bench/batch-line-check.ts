/**
 * What the check of the files a batch file's lines name costs at managed upload (README "Batches",
 * src/services/batch-references.ts): the line check alone (src/services/batch-file-check.ts: split,
 * JSON.parse, custom_id duplicates) against the same check plus the walk of every line's body for
 * stored-data references (src/services/stored-references.ts requestReferences, with the real
 * provider definitions' storage forms). CPU µs per line (process.cpuUsage, median of 3 runs), in
 * this process, file on local disk; no line names a file, so no database lookup is involved.
 *
 *   node --import tsx bench/batch-line-check.ts [--size-mb 50]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProviderRegistry } from '../src/providers/registry.ts';
import { checkBatchFile } from '../src/services/batch-file-check.ts';
import { requestReferences } from '../src/services/stored-references.ts';
import { commandText, flag, median } from './support/measure.ts';
import { checkQuietMachine, fixed, publish, table } from './support/report.ts';

const SIZE_MB = flag('size-mb', 50);
const MODEL = 'gpt-4o-mini';
const dir = await mkdtemp(join(tmpdir(), 'batch-line-check-'));
const filler = 'lorem ipsum dolor sit amet '.repeat(30);

/** Two shapes: a plain chat line (~1 KB), and one with content parts (text + small data: image). */
const shapes = {
  'chat, string content': (index: number) => ({ custom_id: `req-${index}`, method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: `question ${index}: ${filler}` }], max_tokens: 100 } }),
  'chat, content parts': (index: number) => ({
    custom_id: `req-${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: `question ${index}: ${filler}` }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', detail: 'low' } }] }], max_tokens: 100 },
  }),
};

const registry = new ProviderRegistry({ deployments: [], filesSettings: [] });
const scan = { providerOrigins: new Map<string, string>([['https://api.openai.com', 'openai']]), storageForms: (value: string) => registry.storedReferenceForms(value) };

async function cpuOf(run: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

await checkQuietMachine();
const rows: Array<Array<string | number>> = [];
try {
  for (const [name, shape] of Object.entries(shapes)) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
    let lines = 0;
    await pipeline(
      Readable.from(
        (function* () {
          for (let written = 0; written < SIZE_MB * 1e6; lines += 1) {
            const line = `${JSON.stringify(shape(lines))}\n`;
            written += line.length;
            yield line;
          }
        })(),
      ),
      createWriteStream(path),
    );
    const bytes = (await stat(path)).size;
    const body = { open: () => createReadStream(path, { highWaterMark: 256 * 1024 }), bytes };
    const base: number[] = [];
    const withWalk: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      base.push(await cpuOf(() => checkBatchFile(body, [MODEL])));
      let found = 0;
      withWalk.push(
        await cpuOf(() =>
          checkBatchFile(body, [MODEL], {
            // Like UploadReferenceCheck.line: synchronous when the line names no file.
            onRequest: (request) => {
              found += requestReferences(request.body, scan).length;
              return undefined;
            },
          }),
        ),
      );
      if (found !== 0) throw new Error(`the walk found ${found} references in lines that name none`);
    }
    const perLine = (micros: number[]) => median(micros) / lines;
    rows.push([name, lines.toLocaleString('en-US'), fixed(bytes / 1e6), fixed(perLine(base), 2), fixed(perLine(withWalk), 2), `+${fixed(((perLine(withWalk) - perLine(base)) / perLine(base)) * 100, 0)} %`]);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await registry.close();
}

await publish({
  key: 'batch-line-check',
  title: 'Batch upload line check with the file-reference walk',
  command: commandText('bench/batch-line-check.ts'),
  body: [
    `A managed \`purpose=batch\` upload is checked line by line before anything is uploaded; since the file-reference rules for batch lines (README "Batches", src/services/batch-references.ts) every line's body is also walked for \`file_id\`/\`file_ids\` values and storage URIs. CPU µs per line, median of 3 runs, in one process reading a ${SIZE_MB} MB file from local disk; no line names a file (a line that does costs one database lookup per distinct id).`,
    '',
    table(['lines', 'count', 'MB', 'line check µs/line', '+ reference walk µs/line', 'walk adds'], rows),
  ].join('\n'),
});
