/**
 * Hostile values, by where they go. Path and query values are given already as they appear on
 * the wire (percent-encoded or deliberately not); JSON values as JavaScript values.
 */
import type { Random } from './random.ts';

/** Path segments for file ids, as sent (not yet encoded). */
export const ODD_ID_SEGMENTS: readonly string[] = [
  '%00',
  'file-abc%00def',
  '%ED%A0%80', // a lone surrogate in UTF-8 form (invalid UTF-8)
  '%uD800',
  '%zz',
  '%',
  '%E0%A4',
  '%C0%AF',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  'file%2Dabc',
  'file-abc%20def',
  'gs%3A%2F%2Funifile-test%2Fmanaged%2Fx',
  'gs:%2F%2Fother-bucket%2Fsecret.txt',
  'gs:%2F%2Funifile-test%2Fmanaged%2Funifile%2F00000000-0000-4000-8000-000000000000%2Fx.txt',
  'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA',
  'file-uf_short',
  'file-uf_' + 'A'.repeat(200),
  'batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA',
  'file-' + 'x'.repeat(150),
  'file-' + 'y'.repeat(1500),
  'f'.repeat(9000),
  'assistant-abc',
  '%F0%9F%92%A9',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '0',
  '-1',
  '%3Cscript%3E',
  '%22%27%60',
  'file-abc%3Fx%3D1',
  'file-abc%23frag',
  '%0D%0ASet-Cookie:%20x=1',
];

/** Query values, as they appear on the wire. */
export const ODD_QUERY_VALUES: readonly string[] = [
  '',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%zz',
  '%',
  '-1',
  '0',
  '1e3',
  '10001',
  '99999999999999999999999',
  '1.5',
  'NaN',
  'ASC',
  'desc%00',
  'x'.repeat(5000),
  '%F0%9F%92%A9',
  'null',
  '[]',
  '{}',
  'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA',
  'gs://unifile-test/managed/x',
];

/** Strings for JSON bodies and form fields. */
export function oddString(random: Random): string {
  return random.pick([
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\ud83d',
    '💩'.repeat(50),
    'x'.repeat(random.pick([300, 5000, 70_000])),
    'None',
    'null',
    '../../etc/passwd',
    'gs://unifile-test/managed/x.txt',
    '<script>alert(1)</script>',
    '\r\nX-Injected: 1',
    'ﾠ\u200b\u202e',
    ' ',
  ]);
}

/** A JSON value of an unexpected type. */
export function oddJsonValue(random: Random, depth = 0): unknown {
  const choice = random.int(depth > 2 ? 8 : 11);
  switch (choice) {
    case 0:
      return null;
    case 1:
      return random.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
    case 2:
      return random.chance(0.5);
    case 3:
    case 4:
      return oddString(random);
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return [null];
    case 8:
      return [oddJsonValue(random, depth + 1), oddJsonValue(random, depth + 1)];
    case 9:
      return { [random.pick(['__proto__', 'constructor', 'a', ''])]: oddJsonValue(random, depth + 1) };
    default:
      return { type: random.pick(['text', 'file', 'image_url', 'nosuch', null]), x: oddJsonValue(random, depth + 1) };
  }
}

/** JSON text nested `depth` levels deep: arrays or objects. */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A filename for a multipart header, as raw bytes. */
export function oddFilename(random: Random): Buffer {
  return random.pick([
    Buffer.from('a\u0000b.txt'),
    Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x2e, 0x74, 0x78, 0x74]), // lone surrogate as UTF-8
    Buffer.from([0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]),
    Buffer.from('x'.repeat(random.pick([300, 5000]))),
    Buffer.from('../../etc/passwd'),
    Buffer.from('C:\\evil\\name.txt'),
    Buffer.from('na"me.txt'),
    Buffer.from('%00.txt'),
    Buffer.from(''),
    Buffer.from('💩.pdf'),
    Buffer.from('<img src=x onerror=alert(1)>.txt'),
    Buffer.from('a\rb.txt'),
  ]);
}
