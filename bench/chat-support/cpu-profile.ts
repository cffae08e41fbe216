/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per
 * function, inclusive time per project function, and self time per package.
 *
 * Project frames are reported as src/file.ts:line. bin/unifile.js runs the compiled dist/ when
 * it exists (tsc output, no source maps): a dist frame is placed in src/ by its function name,
 * or for an anonymous function by the text of its line (whitespace aside), else by the nearest
 * named function above it. Without dist/ it runs src/ through tsx, which hands V8 minified code:
 * those positions are mapped back with the source maps tsx keeps in its cache ($TMPDIR/tsx-<uid>).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  /** Function name ("(anonymous)" when V8 has none). */
  name: string;
  /** src/…/file.ts:line for project code, package/path:line for dependencies, node:… for Node internals. */
  location: string;
  /** Share of the non-idle samples, percent. */
  percent: number;
  ms: number;
}

export interface ProfileSummary {
  /** Non-idle sampled time, ms. */
  busyMs: number;
  wallMs: number;
  topSelf: HotSpot[];
  /** Project functions by inclusive time (each sample counted once per function on its stack). */
  topInclusive: HotSpot[];
  /** Self time per package / area. */
  byArea: Array<{ area: string; percent: number; ms: number }>;
  /**
   * Time spent in V8 builtins and Node internals (socket writes, timers, streams…), charged to
   * the nearest package or project frame that called into them.
   */
  runtimeByCaller: HotSpot[];
}

const RUNTIME_AREAS = new Set(['V8 builtins / native', 'node internals']);

type Mapper = (url: string, line: number, column: number) => { file: string; line: number } | undefined;

/** Source maps of the tsx cache, newest entry per source file. */
function tsxMapper(root: string): Mapper {
  const directory = join(tmpdir(), `tsx-${userInfo().uid}`);
  const newest = new Map<string, { mtime: number; map: SourceMapPayload }>();
  let entries: string[] = [];
  try {
    entries = readdirSync(directory);
  } catch {
    // no cache: positions stay generated ones
  }
  for (const entry of entries) {
    const path = join(directory, entry);
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { map?: SourceMapPayload };
      const source = parsed.map?.sources?.[0];
      if (!source || !source.startsWith(root)) continue;
      const mtime = statSync(path).mtimeMs;
      const known = newest.get(source);
      if (!known || known.mtime < mtime) newest.set(source, { mtime, map: parsed.map! });
    } catch {
      // not a JSON cache entry
    }
  }
  const maps = new Map<string, SourceMap>();
  return (url, line, column) => {
    if (!url.startsWith('file://')) return undefined;
    const file = fileURLToPath(url);
    const entry = newest.get(file);
    if (!entry) return undefined;
    let map = maps.get(file);
    if (!map) {
      map = new SourceMap(entry.map);
      maps.set(file, map);
    }
    const found = map.findEntry(line, column) as { originalLine?: number };
    return found.originalLine === undefined ? undefined : { file, line: found.originalLine + 1 };
  };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const squeeze = (text: string) => text.replace(/\s+/g, '');
const DECLARATION = /(?:function\*?\s+([\w$]+)|^\s*(?:(?:export|default|public|private|protected|static|async|override|get|set)\s+)*\*?\s*([\w$#]+)\s*\([^)]*\)\s*\{\s*$|(?:const|let|var)\s+([\w$]+)\s*=\s*(?:async\s*)?(?:function|\())/;

/** Places a frame of dist/<path>.js in src/<path>.ts (see the header comment). */
function distMapper(root: string, distRoot: string): (distFile: string, line0: number, functionName: string) => { file: string; line: number; note?: string } | undefined {
  const cache = new Map<string, string[] | null>();
  const lines = (path: string) => {
    if (!cache.has(path)) {
      try {
        cache.set(path, readFileSync(path, 'utf8').split('\n'));
      } catch {
        cache.set(path, null);
      }
    }
    return cache.get(path) ?? undefined;
  };
  const nearest = (candidates: number[], guess: number) => candidates.sort((a, b) => Math.abs(a - guess) - Math.abs(b - guess))[0];
  const byName = (source: string[], name: string, guess: number) => {
    const pattern = new RegExp(
      `(?:function\\*?\\s+${escape(name)}\\b|^\\s*(?:(?:export|default|public|private|protected|static|async|override|get|set)\\s+)*\\*?\\s*${escape(name)}\\s*[(<]|\\b${escape(name)}\\s*[:=]\\s*(?:async\\s*)?(?:function|\\(|[\\w$]+\\s*=>)|class\\s+${escape(name)}\\b)`,
    );
    const found = source.flatMap((text, index) => (pattern.test(text) ? [index] : []));
    return nearest(found, guess);
  };
  return (distFile, line0, functionName) => {
    const relativePath = relative(distRoot, distFile);
    if (relativePath.startsWith('..') || !relativePath.endsWith('.js')) return undefined;
    const file = join(root, 'src', relativePath.replace(/\.js$/, '.ts'));
    const source = lines(file);
    const compiled = lines(distFile);
    if (!source || !compiled) return undefined;
    const guess = Math.round((line0 * source.length) / Math.max(1, compiled.length));
    if (functionName && functionName !== '(anonymous)') {
      const index = byName(source, functionName, guess);
      if (index !== undefined) return { file, line: index + 1 };
    }
    const text = squeeze(compiled[line0] ?? '');
    if (text.length >= 8) {
      const same = source.flatMap((candidate, index) => (squeeze(candidate) === text ? [index] : []));
      const index = nearest(same, guess);
      if (index !== undefined) return { file, line: index + 1 };
    }
    for (let index = line0; index >= 0; index -= 1) {
      const match = DECLARATION.exec(compiled[index] ?? '');
      const name = match?.[1] ?? match?.[2] ?? match?.[3];
      if (!name || ['if', 'for', 'while', 'switch', 'catch', 'return'].includes(name)) continue;
      const found = byName(source, name, guess);
      if (found !== undefined) return { file, line: found + 1, note: `in ${name}` };
    }
    return undefined;
  };
}

function describe(frame: ProfileNode['callFrame'], root: string, mapper: Mapper, fromDist: ReturnType<typeof distMapper>): { location: string; area: string; project: boolean } {
  const { url } = frame;
  if (url === '') return { location: '(native)', area: frame.functionName.startsWith('(') ? frame.functionName : 'V8 builtins / native', project: false };
  // undici parses HTTP/1.1 with llhttp compiled to WebAssembly.
  if (url.startsWith('wasm:')) return { location: `${url} (undici llhttp)`, area: 'undici', project: false };
  if (url.startsWith('node:')) return { location: `${url}:${frame.lineNumber + 1}`, area: 'node internals', project: false };
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inRoot = relative(root, path);
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (packageMatch) return { location: `${packageMatch[1]}/${packageMatch[2]}:${frame.lineNumber + 1}`, area: packageMatch[1]!, project: false };
  const compiled = fromDist(path, frame.lineNumber, frame.functionName);
  if (compiled) {
    return { location: `${relative(root, compiled.file)}:${compiled.line}${compiled.note ? ` (${compiled.note})` : ''}`, area: 'project (src/)', project: true };
  }
  const mapped = mapper(url, frame.lineNumber, frame.columnNumber);
  if (mapped) return { location: `${relative(root, mapped.file)}:${mapped.line}`, area: 'project (src/)', project: true };
  return { location: `${inRoot}:${frame.lineNumber + 1} (generated position)`, area: 'project (src/)', project: true };
}

/**
 * `fromMs`/`toMs`: only samples in this window, in ms after the profile started. `distRoot`: the
 * compiled tree that mirrors src/ (default <root>/dist).
 */
export function summarizeCpuProfile(
  path: string,
  root: string,
  options: { fromMs?: number; toMs?: number; top?: number; distRoot?: string } = {},
): ProfileSummary {
  const { fromMs = 0, toMs = Number.POSITIVE_INFINITY, top = 15, distRoot = join(root, 'dist') } = options;
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const mapper = tsxMapper(root);
  const fromDist = distMapper(root, distRoot);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // A sample's duration is the gap to the next sample (as Chrome DevTools counts it).
  const durations = profile.samples.map((_, index) => (profile.timeDeltas[index + 1] ?? 0) / 1000);
  const described = new Map<number, { key: string; name: string; location: string; area: string; project: boolean }>();
  const info = (id: number) => {
    let value = described.get(id);
    if (!value) {
      const frame = byId.get(id)!.callFrame;
      const where = describe(frame, root, mapper, fromDist);
      const name = frame.functionName || '(anonymous)';
      value = { key: `${name}@${where.location}`, name, ...where };
      described.set(id, value);
    }
    return value;
  };

  const self = new Map<string, HotSpot & { area: string }>();
  const inclusive = new Map<string, HotSpot>();
  const areas = new Map<string, number>();
  const runtimeCallers = new Map<string, HotSpot>();
  let busyMs = 0;
  let at = 0;
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = 0;
  profile.samples.forEach((id, index) => {
    at += (profile.timeDeltas[index] ?? 0) / 1000;
    if (at < fromMs || at > toMs) return;
    firstMs = Math.min(firstMs, at);
    lastMs = Math.max(lastMs, at);
    const ms = durations[index]!;
    const leaf = info(id);
    if (leaf.name === '(idle)') return;
    busyMs += ms;
    const spot = self.get(leaf.key) ?? { name: leaf.name, location: leaf.location, area: leaf.area, percent: 0, ms: 0 };
    spot.ms += ms;
    self.set(leaf.key, spot);
    areas.set(leaf.area, (areas.get(leaf.area) ?? 0) + ms);
    if (RUNTIME_AREAS.has(leaf.area)) {
      let caller = leaf;
      for (let node = parent.get(id); node !== undefined; node = parent.get(node)) {
        const frame = info(node);
        if (frame.name === '(root)') break;
        if (!RUNTIME_AREAS.has(frame.area)) {
          caller = frame;
          break;
        }
      }
      const entry = runtimeCallers.get(caller.key) ?? { name: caller.name, location: caller.location, percent: 0, ms: 0 };
      entry.ms += ms;
      runtimeCallers.set(caller.key, entry);
    }
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const frame = info(node);
      if (!frame.project || seen.has(frame.key)) continue;
      seen.add(frame.key);
      const entry = inclusive.get(frame.key) ?? { name: frame.name, location: frame.location, percent: 0, ms: 0 };
      entry.ms += ms;
      inclusive.set(frame.key, entry);
    }
  });
  const ranked = <T extends { ms: number; percent: number }>(values: Iterable<T>) =>
    [...values]
      .map((value) => ({ ...value, percent: (100 * value.ms) / busyMs }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return {
    busyMs,
    wallMs: Math.max(0, lastMs - firstMs),
    topSelf: ranked(self.values()).map(({ name, location, percent, ms }) => ({ name, location, percent, ms })),
    topInclusive: ranked(inclusive.values()),
    byArea: ranked([...areas].map(([area, ms]) => ({ area, ms, percent: 0 }))),
    runtimeByCaller: ranked(runtimeCallers.values()),
  };
}
