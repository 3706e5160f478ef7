import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveFor } from '../../src/publicip/sources/resolve.js';

test('resolveFor: a literal of the other family and an aborted signal are failures with their why', async () => {
  assert.deepEqual(await resolveFor('2001:db8::1', 4, new AbortController().signal), { ok: false, kind: 'unsupported', why: '2001:db8::1 is an IPv6 address; it cannot be reached over IPv4' });
  assert.deepEqual(await resolveFor('192.0.2.1', 4, new AbortController().signal), { ok: true, address: '192.0.2.1' });
  assert.deepEqual(await resolveFor('echo.example', 4, AbortSignal.abort()), { ok: false, kind: 'aborted', why: 'aborted' });
});
