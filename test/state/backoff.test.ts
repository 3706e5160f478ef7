import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, jitter } from '../../src/state/backoff.js';

const o = { baseMs: 1000, maxMs: 60_000 };

test('backoff doubles per attempt: with random 1 it is exactly the cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((a) => backoffDelay(a, o, () => 1)), [1000, 2000, 4000, 8000, 16000]);
});

test('backoff never goes below half the cap (random 0)', () => {
  assert.deepEqual([0, 1, 2].map((a) => backoffDelay(a, o, () => 0)), [500, 1000, 2000]);
});

test('backoff stops growing at maxMs, even after a thousand attempts', () => {
  assert.equal(backoffDelay(10, o, () => 1), 60_000);
  assert.equal(backoffDelay(1000, o, () => 1), 60_000);
  assert.ok(Number.isFinite(backoffDelay(1e9, o, () => 0.5)));
});

test('backoff treats negative or fractional attempts as the floor, and clamps a bad random', () => {
  assert.equal(backoffDelay(-3, o, () => 1), 1000);
  assert.equal(backoffDelay(1.9, o, () => 1), 2000);
  assert.equal(backoffDelay(0, o, () => 7), 1000);
});

test('jitter stays within ±10% of the interval by default', () => {
  assert.equal(jitter(300_000, () => 0), 270_000);
  assert.equal(jitter(300_000, () => 1), 330_000);
  assert.equal(jitter(300_000, () => 0.5), 300_000);
});

test('jitter never yields less than one second', () => {
  assert.equal(jitter(10, () => 0), 1000);
});
