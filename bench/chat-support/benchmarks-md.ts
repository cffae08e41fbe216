/**
 * Writes this benchmark's section of BENCHMARKS.md and nothing else. The section is the block
 * between `<!-- bench:chat-latency:start -->` and `<!-- bench:chat-latency:end -->`; without
 * the markers, a heading line equal to HEADING up to the next `## ` heading or section marker.
 * It is replaced in place when present, else appended at the end; every other byte of the file
 * is kept. The file is read right before it is written (another script writes other sections).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export const HEADING = '## Chat completions: added latency and throughput';

/** Which section: its marker name (`bench:<name>:start`) and heading line; chat-latency's by default. */
export interface SectionName {
  name: string;
  heading: string;
}
const CHAT_LATENCY: SectionName = { name: 'chat-latency', heading: HEADING };

/** `body` is the section's markdown after its heading line. */
export function writeSection(path: string, body: string, which: SectionName = CHAT_LATENCY): void {
  const section = `<!-- bench:${which.name}:start -->\n${which.heading}\n\n${body.trimEnd()}\n<!-- bench:${which.name}:end -->\n`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = replaceOrAppend(current, section, which);
  const temporary = `${path}.${which.name}.tmp`;
  writeFileSync(temporary, next);
  renameSync(temporary, path);
}

export function replaceOrAppend(current: string, section: string, which: SectionName = CHAT_LATENCY): string {
  const START = `<!-- bench:${which.name}:start -->`;
  const END = `<!-- bench:${which.name}:end -->`;
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
  const headingIndex = lines.findIndex((line) => line.trimEnd() === which.heading);
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
