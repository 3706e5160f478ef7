import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printable } from '../../src/net/text.js';

test('printable removes escape sequences, C1, bidi and line separators, and caps the length', () => {
  assert.equal(printable('ok\x1b[2J\x1b]0;pwned\x07 done'), 'ok[2J]0;pwned done');
  assert.equal(printable('a\u009b31mb'), 'a31mb', 'the 8-bit CSI too');
  assert.equal(printable('evil\u202Etxt.exe\u200b'), 'eviltxt.exe');
  assert.equal(printable('line1\r\nline2\u2028x', 256, ' '), 'line1 line2 x');
  assert.equal(printable('x'.repeat(10), 4), 'xxxx');
  assert.equal(printable('😀😀😀', 2), '😀😀', 'the cap counts code points, never splits one');
  assert.equal(printable('Grüße 😀'), 'Grüße 😀', 'printable text is kept');
});
