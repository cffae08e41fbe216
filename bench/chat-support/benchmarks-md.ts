/**
 * Writes this benchmark's section of BENCHMARKS.md and nothing else. The section is the block
 * between `<!-- bench:chat-latency:start -->` and `<!-- bench:chat-latency:end -->`; without
 * the markers, a heading line equal to HEADING up to the next `## ` heading or section marker.
 * It is replaced in place when present, else appended at the end; every other byte of the file
 * is kept. The file is read right before it is written (another script writes other sections).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export const HEADING = '## Chat completions: added latency and throughput';
const START = '<!-- bench:chat-latency:start -->';
const END = '<!-- bench:chat-latency:end -->';

/** `body` is the section's markdown after its heading line. */
export function writeSection(path: string, body: string): void {
  const section = `${START}\n${HEADING}\n\n${body.trimEnd()}\n${END}\n`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = replaceOrAppend(current, section);
  const temporary = `${path}.chat-latency.tmp`;
  writeFileSync(temporary, next);
  renameSync(temporary, path);
}

export function replaceOrAppend(current: string, section: string): string {
  const start = current.indexOf(START);
  if (start >= 0) {
    const end = current.indexOf(END, start);
    if (end >= 0) {
      let after = end + END.length;
      if (current[after] === '\n') after += 1;
      return current.slice(0, start) + section + current.slice(after);
    }
  }
  const lines = current.split('\n');
  const headingIndex = lines.findIndex((line) => line.trimEnd() === HEADING);
  if (headingIndex >= 0) {
    let endIndex = lines.length;
    for (let index = headingIndex + 1; index < lines.length; index += 1) {
      if (lines[index]!.startsWith('## ') || lines[index]!.startsWith('<!-- bench:')) {
        endIndex = index;
        break;
      }
    }
    const before = lines.slice(0, headingIndex).join('\n');
    const rest = lines.slice(endIndex).join('\n');
    return (headingIndex > 0 ? `${before}\n` : '') + section + (endIndex < lines.length ? `\n${rest}` : '');
  }
  if (current === '') return section;
  const separator = current.endsWith('\n\n') ? '' : current.endsWith('\n') ? '\n' : '\n\n';
  return current + separator + section;
}
