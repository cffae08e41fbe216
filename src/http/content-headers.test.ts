import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentDisposition, safeMimeType } from './content-headers.ts';

test('Content-Disposition: ASCII fallback plus the exact UTF-8 name (RFC 6266 / RFC 8187)', () => {
  assert.equal(contentDisposition('report.pdf'), `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  assert.equal(contentDisposition('résumé 2024.pdf'), `attachment; filename="r_sum_ 2024.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf`);
  assert.equal(contentDisposition('say "hi"; x=1.txt'), `attachment; filename="say _hi_; x=1.txt"; filename*=UTF-8''say%20%22hi%22%3B%20x%3D1.txt`);
  assert.equal(contentDisposition("a'b(c)*%.txt"), `attachment; filename="a'b(c)*_.txt"; filename*=UTF-8''a%27b%28c%29%2A%25.txt`);
  assert.equal(contentDisposition('evil\r\nSet-Cookie: x=1'), `attachment; filename="evil__Set-Cookie: x=1"; filename*=UTF-8''evil__Set-Cookie%3A%20x%3D1`);
  assert.equal(contentDisposition('../../etc/passwd'), `attachment; filename=".._.._etc_passwd"; filename*=UTF-8''.._.._etc_passwd`);
  assert.equal(contentDisposition('lone\uD800.txt'), `attachment; filename="lone_.txt"; filename*=UTF-8''lone%EF%BF%BD.txt`);
  assert.equal(contentDisposition('日本.txt'), `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`);
  assert.equal(contentDisposition(''), `attachment; filename="download"; filename*=UTF-8''download`);
  // Every header value is one line of visible ASCII.
  for (const name of ['a\u0000b', 'x\u2028y', '\u{1F600}.png', 'tab\there']) assert.match(contentDisposition(name), /^[\x20-\x7e]+$/);
});

test('MIME types are reduced to a well-formed type/subtype', () => {
  assert.equal(safeMimeType('application/pdf'), 'application/pdf');
  assert.equal(safeMimeType('Text/Plain; charset=utf-8'), 'text/plain');
  assert.equal(safeMimeType('text/html\r\nx: y'), 'application/octet-stream');
  assert.equal(safeMimeType('nonsense'), 'application/octet-stream');
  assert.equal(safeMimeType(undefined), 'application/octet-stream');
});
