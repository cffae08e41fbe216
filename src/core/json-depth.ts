/**
 * How deep JSON text nests, checked before it is parsed: JSON.parse copes with any depth, but a
 * body nested thousands of levels deep overflows the stack wherever it is later serialised or
 * walked recursively (README "Endpoints" (limits) limits request bodies to 64 levels). Used for JSON request bodies
 * (http/json-body.ts) and for every line of a batch file (services/batch-file-check.ts).
 */
export const MAX_JSON_DEPTH = 64;

const STRUCTURE = /["[\]{}]/g;
const STRING_END = /["\\]/g;

/**
 * Whether the text holds at most `limit` opening brackets (inside strings or not): then it
 * cannot nest deeper than `limit`. Native indexOf jumps, no allocation: most bodies (a chat
 * request has a handful of objects) are settled here without the scan below.
 */
function fewOpenings(text: string, limit: number): boolean {
  let count = 0;
  for (const opening of ['{', '[']) {
    for (let at = text.indexOf(opening); at !== -1; at = text.indexOf(opening, at + 1)) {
      if (++count > limit) return false;
    }
  }
  return true;
}

/**
 * Whether JSON text nests deeper than `limit`, stopping as soon as it does: one pass that jumps
 * between structural characters with native regex scans (string contents are skipped whole).
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  if (fewOpenings(text, limit)) return false;
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  for (let match = STRUCTURE.exec(text); match; match = STRUCTURE.exec(text)) {
    const char = match[0];
    if (char === '"') {
      // Skip to the closing quote, stepping over escapes.
      STRING_END.lastIndex = STRUCTURE.lastIndex;
      let end = STRING_END.exec(text);
      while (end && end[0] === '\\') {
        STRING_END.lastIndex = end.index + 2;
        end = STRING_END.exec(text);
      }
      if (!end) return false;
      STRUCTURE.lastIndex = end.index + 1;
    } else if (char === '{' || char === '[') {
      if (++depth > limit) return true;
    } else {
      depth--;
    }
  }
  return false;
}
