/** Markdown output: tables, the machine description, and one replaceable section per benchmark in BENCHMARKS.md. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './child-process.ts';

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (nproc), ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`;
}

export const fixed = (value: number, digits = 1): string => value.toFixed(digits);

export interface Section {
  /** Stable key, e.g. `upload-1gib`: a rerun replaces the section with this key. */
  key: string;
  title: string;
  /** The exact command that produced it. */
  command: string;
  body: string;
}

/** Prints the section and writes it into BENCHMARKS.md, replacing an older one with the same key. */
export async function publish(section: Section): Promise<void> {
  const start = `<!-- bench:${section.key}:start -->`;
  const end = `<!-- bench:${section.key}:end -->`;
  const text = [
    start,
    `## ${section.title}`,
    '',
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${machine()}`,
    `- Command: \`${section.command}\``,
    '',
    section.body.trim(),
    end,
  ].join('\n');
  process.stdout.write(`\n${text}\n`);
  const path = join(REPO_ROOT, 'BENCHMARKS.md');
  let current = await readFile(path, 'utf8').catch(() => '');
  if (!current) current = '# Benchmarks\n\nRecorded by the scripts in `bench/` (see bench/README.md); each section is replaced when its script runs again.\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + text + current.slice(to + end.length) : `${current.trimEnd()}\n\n${text}\n`;
  await writeFile(path, next);
  process.stdout.write(`\n(section '${section.key}' written to BENCHMARKS.md)\n`);
}
