/**
 * The probe's warm-up (src/reach/warmup.ts): it runs through a throwaway instance, so nothing the warm-up
 * sends (its wrong tokens, its slow headers) is held against anyone by the probe that then listens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startProbeServer } from '../../src/reach/server.js';
import { drive } from '../../src/reach/warmup.js';
import { httpCall } from '../helpers/http-call.js';

test('the warm-up runs its requests through a throwaway instance: the real probe starts clean and logs none of them', async () => {
  const events: Record<string, unknown>[] = [];
  const srv = await startProbeServer({ host: '127.0.0.1', port: 0 }, {
    token: 'warm-up-test-token-0123456789', warmUp: { connections: 60, budgetMs: 60_000 }, log: (e) => events.push(e),
  });
  try {
    // 60 connections, 12 of them wrong tokens from 127.0.0.1: past the 5 free failures, had they reached
    // this instance, 127.0.0.1 would now be in backoff (429 even for the right token).
    assert.deepEqual(events.map((e) => e.event), ['probe.warmed']);
    assert.equal(events[0]?.connections, 60);
    assert.deepEqual(srv.stats(), { inflight: 0, clients: 0, connections: 0 });
    const ok = await httpCall(srv.address.port, '/ip', { token: 'warm-up-test-token-0123456789', timeoutMs: 10_000 });
    assert.equal(ok.status, 200);
    assert.deepEqual(events.map((e) => e.event), ['probe.warmed']);
  } finally {
    await srv.close();
  }
});

test('the warm-up makes no connection once its signal has aborted (a start is never held up by it)', async () => {
  const s = createServer((c) => { c.destroy(); });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (s.address() as { port: number }).port;
    assert.equal(await drive(port, undefined, { connections: 50, signal: AbortSignal.abort() }), 0);
    assert.equal(await drive(port, undefined, { connections: 5 }), 5, 'the same call without the abort connects');
  } finally {
    await new Promise((r) => s.close(r));
  }
});

test('the warm-up at its default concurrency prints no listener-leak warning (one abort listener in all)', async () => {
  const s = createServer((c) => { c.destroy(); });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const warnings: string[] = [];
  const onWarning = (w: Error) => { warnings.push(w.name); };
  process.on('warning', onWarning);
  try {
    const port = (s.address() as { port: number }).port;
    assert.equal(await drive(port, undefined, { connections: 64, budgetMs: 60_000 }), 64);
    // Warnings are emitted on the next tick: let them arrive before looking.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((n) => n === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
    await new Promise((r) => s.close(r));
  }
});
