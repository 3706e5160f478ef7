import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupBy, mapLimit } from '../../src/net/concurrency.js';

test('mapLimit keeps at most `limit` calls in flight and returns results in the items\' order', async () => {
  let inFlight = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const run = mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((r) => gates.push(r));
    inFlight--;
    return n * 10;
  });
  // Release in reverse of arrival each time two are waiting: order of completion differs from order of items.
  while (gates.length > 0 || inFlight > 0) {
    await new Promise((r) => setImmediate(r));
    gates.pop()?.();
  }
  assert.deepEqual(await run, [10, 20, 30, 40, 50]);
  assert.equal(most, 2);
});

test('mapLimit with no items resolves with none', async () => {
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
});

test('groupBy keeps first-seen key order and item order', () => {
  const g = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0]);
  assert.deepEqual([...g.entries()], [['b', ['b1', 'b2']], ['a', ['a1', 'a2']], ['c', ['c1']]]);
});
