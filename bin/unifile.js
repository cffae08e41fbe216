#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8 (MiB per semi-space): V8's young generation then holds 16 MiB instead of its 32 MiB default,
// which every streamed transfer fills with socket and file chunks; it can only be set on the node command line
// (BENCHMARKS.md, "Lead's quiet run, 2026-12-04": Vertex batch peak 150.6 → 140.1 MiB, chat CPU unchanged).
// Runs the compiled CLI (dist/, built by `npm ci` through the prepare script, or `npm run build`).
// Without a build it falls back to the TypeScript sources through tsx, which costs ~70 MB more.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
