/**
 * Converting a 100 MB OpenAI batch file to Vertex batch-prediction input and its predictions
 * back to OpenAI batch output lines (src/providers/vertex/vertex-batch-convert.ts), file to file
 * in this process: MB/s of each direction and peak RSS (process.resourceUsage().maxRSS). The
 * converters only — no gateway, no GCS round trip. Run: node --import tsx bench/vertex-batch-convert.ts
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CustomIdIndex, CustomIdSpool } from '../src/providers/vertex/custom-id-index.ts';
import { openAIBatchToVertex, ROW_LABEL, splitLines, vertexOutputToOpenAI } from '../src/providers/vertex/vertex-batch-convert.ts';

const TARGET_BYTES = Number(process.env.BENCH_BYTES ?? 100 * 1024 * 1024);
const dir = await mkdtemp(join(tmpdir(), 'vertex-batch-bench-'));
const paths = { openai: join(dir, 'in.jsonl'), vertex: join(dir, 'vertex.jsonl'), predictions: join(dir, 'predictions.jsonl'), output: join(dir, 'out.jsonl') };
const mb = (bytes: number) => bytes / (1024 * 1024);
const filler = 'lorem ipsum dolor sit amet '.repeat(30);

async function* openaiLines(): AsyncGenerator<string> {
  let written = 0;
  for (let index = 0; written < TARGET_BYTES; index++) {
    const line = `${JSON.stringify({ custom_id: `Request ${index} — ${index % 7}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: `question ${index}: ${filler}` }], max_tokens: 100 } })}\n`;
    written += Buffer.byteLength(line);
    yield line;
  }
}
await pipeline(Readable.from(openaiLines()), createWriteStream(paths.openai));
const inputBytes = (await stat(paths.openai)).size;

const spool = await CustomIdSpool.create(dir);
let started = performance.now();
await pipeline(Readable.from(openAIBatchToVertex(createReadStream(paths.openai), { instance: 'bench', onRow: (_row, id) => spool.append(id) })), createWriteStream(paths.vertex));
await spool.finish();
const toVertexMs = performance.now() - started;
const rssAfterIn = process.resourceUsage().maxRSS / 1024;
const vertexBytes = (await stat(paths.vertex)).size;

// What Vertex would write: every request echoed with an answer (rows reversed: out of order).
async function* predictions(): AsyncGenerator<string> {
  for await (const { line } of splitLines(createReadStream(paths.vertex))) {
    if (line === '') continue;
    const request = (JSON.parse(line) as { request: { labels: Record<string, string> } }).request;
    yield `${JSON.stringify({ request, status: '', response: { candidates: [{ content: { role: 'model', parts: [{ text: `answer ${request.labels[ROW_LABEL]}` }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 120, candidatesTokenCount: 3, totalTokenCount: 123 }, modelVersion: 'gemini-2.5-flash' }, processed_time: '2026-04-13T10:18:18.102004+00:00' })}\n`;
  }
}
await pipeline(Readable.from(predictions()), createWriteStream(paths.predictions));
const predictionBytes = (await stat(paths.predictions)).size;
started = performance.now();
const index = await CustomIdIndex.load(createReadStream(spool.path), dir);
await pipeline(Readable.from(vertexOutputToOpenAI(createReadStream(paths.predictions), { customId: (row) => index.get(row), model: 'gemini-2.5-flash', seed: 'bench', keep: 'succeeded' })), createWriteStream(paths.output));
const toOpenAIMs = performance.now() - started;
const outputBytes = (await stat(paths.output)).size;
const lineCount = index.rows;
await index.close();
const rssPeak = process.resourceUsage().maxRSS / 1024;
await rm(dir, { recursive: true, force: true });

console.log(`## Vertex batch conversion, ${mb(inputBytes).toFixed(0)} MB OpenAI batch file (converters only)

\`node --import tsx bench/vertex-batch-convert.ts\` — ${lineCount.toLocaleString('en')} lines, file to file on local disk, one process.

| direction | in | out | time | throughput |
|---|---|---|---|---|
| OpenAI JSONL → Vertex input | ${mb(inputBytes).toFixed(1)} MB | ${mb(vertexBytes).toFixed(1)} MB | ${(toVertexMs / 1000).toFixed(2)} s | ${(mb(inputBytes) / (toVertexMs / 1000)).toFixed(1)} MB/s |
| Vertex predictions → OpenAI output | ${mb(predictionBytes).toFixed(1)} MB | ${mb(outputBytes).toFixed(1)} MB | ${(toOpenAIMs / 1000).toFixed(2)} s | ${(mb(predictionBytes) / (toOpenAIMs / 1000)).toFixed(1)} MB/s |

Peak RSS: ${rssAfterIn.toFixed(0)} MB after the first direction, ${rssPeak.toFixed(0)} MB at the end (includes the bench's own generation of the files; custom_ids are spooled to and looked up on disk, as in the gateway).`);
