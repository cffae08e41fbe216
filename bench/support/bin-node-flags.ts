/**
 * The node flags `bin/unifile.js` starts with (its `#!/usr/bin/env -S node …` line), so that a bench which
 * spawns `node … bin/unifile.js` measures the gateway as `npx unifile` and `npm start` run it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function binNodeFlags(repoRoot: string): string[] {
  const firstLine = readFileSync(join(repoRoot, 'bin', 'unifile.js'), 'utf8').split('\n', 1)[0] ?? '';
  const words = firstLine.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.indexOf('node');
  return node < 0 ? [] : words.slice(node + 1);
}
