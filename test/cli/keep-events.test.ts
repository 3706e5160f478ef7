/** `map add --keep` event lines: a failed mapping's text keeps the key it shipped with (`outcome.message`). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeEvent } from '../../src/cli/keep.js';

function captured(fn: () => void): string {
  const write = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stderr.write;
  try { fn(); } finally { process.stderr.write = write; }
  return out;
}

test('a mapping.failed line says outcome.message (the code calls it why); other events pass as they are', () => {
  const failed = JSON.parse(captured(() => writeEvent({ event: 'mapping.failed', outcome: { kind: 'failed', via: 'upnp', why: 'HTTP 500' }, retryInMs: 15_000 }))) as Record<string, unknown>;
  assert.deepEqual(failed.outcome, { kind: 'failed', via: 'upnp', message: 'HTTP 500' });
  assert.equal(failed.retryInMs, 15_000);
  assert.match(String(failed.time), /^\d{4}-\d\d-\d\dT/);
  const other = JSON.parse(captured(() => writeEvent({ event: 'router.status-failed', message: 'timeout' }))) as Record<string, unknown>;
  assert.equal(other.message, 'timeout');
  assert.equal(other.event, 'router.status-failed');
});
