import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from 'undici';
import { describeError, isTimeoutError, sleep, withTimeout } from '../../src/net/abort.js';

test('undici\'s own connect/headers/body timers count as a timeout, as our signal\'s TimeoutError does', () => {
  for (const e of [new errors.HeadersTimeoutError(), new errors.BodyTimeoutError(), new errors.ConnectTimeoutError(), new DOMException('t', 'TimeoutError')]) {
    assert.equal(isTimeoutError(e), true, String(e));
    assert.equal(describeError(e), 'timed out');
  }
  assert.equal(isTimeoutError(new TypeError('fetch failed', { cause: new errors.HeadersTimeoutError() })), true, 'as a cause too');
  for (const e of [new errors.SocketError('other side closed'), new DOMException('a', 'AbortError'), Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'TIMEOUT', undefined]) {
    assert.equal(isTimeoutError(e), false, String(e));
  }
});

test('withTimeout follows the caller\'s signal; sleep rejects with its reason', async () => {
  const ac = new AbortController();
  const s = withTimeout(600_000, ac.signal);
  const slept = sleep(600_000, s);
  ac.abort(new Error('stop'));
  assert.equal(s.aborted, true);
  await assert.rejects(slept, /stop/);
});
