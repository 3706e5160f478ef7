import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readCapped } from '../../src/net/body.js';

function stream(chunks: (string | Buffer)[]): Readable {
  return Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}

test('a body within the cap is returned whole, bytes counted', async () => {
  assert.deepEqual(await readCapped(stream(['44.0.', '0.2\n']), 64), { ok: true, text: '44.0.0.2\n', bytes: 9 });
});

test('bytes, not characters, count toward the cap', async () => {
  const r = await readCapped(stream(['ééééé']), 8); // 10 bytes in UTF-8
  assert.equal(r.ok, false);
});

test('a body over the cap is cut, the stream destroyed, and what came before is kept', async () => {
  const s = stream(['1234', '5678', '9']);
  const r = await readCapped(s, 8);
  assert.deepEqual(r, { ok: false, bytes: 9, declared: false, partial: '12345678' });
  assert.equal(s.destroyed, true);
});

test('a declared Content-Length over the cap is refused before reading anything', async () => {
  const s = stream(['x']);
  assert.deepEqual(await readCapped(s, 8, '1048576'), { ok: false, bytes: 1048576, declared: true, partial: '' });
  assert.equal(s.destroyed, true);
});

test('a lying Content-Length (small) does not let a large body through', async () => {
  assert.equal((await readCapped(stream(['x'.repeat(100)]), 8, '2')).ok, false);
});
