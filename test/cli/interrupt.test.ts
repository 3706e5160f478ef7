import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';

import { untilInterrupt, withInterrupt, type InterruptSource } from '../../src/cli/interrupt.js';

const source = (): EventEmitter & InterruptSource => new EventEmitter() as EventEmitter & InterruptSource;

test('withInterrupt aborts the work on SIGINT and SIGTERM by default and removes its handlers when done', async () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const src = source();
    const reason = await withInterrupt((signal) => new Promise<unknown>((resolve) => {
      signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
      src.emit(sig);
    }), { source: src });
    assert.match(String(reason), /interrupted/);
    assert.equal(src.listenerCount('SIGINT') + src.listenerCount('SIGTERM'), 0);
  }
});

test('withInterrupt listens only to the signals asked for, and cleans up when the work throws', async () => {
  const src = source();
  await assert.rejects(withInterrupt(async (signal) => {
    assert.equal(src.listenerCount('SIGTERM'), 0);
    assert.equal(src.listenerCount('SIGINT'), 1);
    src.emit('SIGTERM');
    assert.equal(signal.aborted, false);
    throw new Error('boom');
  }, { source: src, signals: ['SIGINT'] }), /boom/);
  assert.equal(src.listenerCount('SIGINT'), 0);
});

test('untilInterrupt resolves at a signal or when `also` aborts (already aborted included)', async () => {
  const src = source();
  const waiting = untilInterrupt({ source: src });
  src.emit('SIGTERM');
  await waiting;
  assert.equal(src.listenerCount('SIGINT') + src.listenerCount('SIGTERM'), 0);

  const ac = new AbortController();
  const waiting2 = untilInterrupt({ source: src, also: ac.signal });
  ac.abort();
  await waiting2;
  await untilInterrupt({ source: src, also: AbortSignal.abort() });
  assert.equal(src.listenerCount('SIGINT') + src.listenerCount('SIGTERM'), 0);
});

test('untilInterrupt holds the process alive until the signal (a command needs no keep-alive of its own)', async () => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const mod = fileURLToPath(new URL('../../src/cli/interrupt.ts', import.meta.url));
  // Nothing else holds this child: without the hold, the top-level await would end it at once (exit 13).
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `const { untilInterrupt } = await import(${JSON.stringify(mod)}); const until = untilInterrupt(); console.log('waiting'); await until; console.log('interrupted');`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await Promise.race([exited, new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('waiting')) resolve(); }))]);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /waiting\ninterrupted/);
});
