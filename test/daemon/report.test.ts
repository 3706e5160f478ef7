import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffReports, judge, type CycleReport, type RecordReport } from '../../src/daemon/report.js';
import { Health } from '../../src/daemon/health.js';

const rec = (over: Partial<RecordReport> = {}): RecordReport => ({ key: 'duckdns:myhome', provider: 'duckdns', name: 'myhome.duckdns.org', result: 'unchanged', ...over });
const report = (over: Partial<CycleReport> = {}): CycleReport => ({
  reasons: ['interval'], startedAt: 0, ms: 12, families: [{ family: 4, address: '203.0.113.7' }], records: [rec()], ...over,
});

test('judge: every family known and every record in place is ready', () => {
  assert.deepEqual(judge(report()), { ok: true, problems: [] });
});

test('judge: a family without quorum is not ready and says why', () => {
  const v = judge(report({ families: [{ family: 4, address: null, why: 'only 1 of 2 sources agree' }] }));
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems, ['IPv4: no public address — only 1 of 2 sources agree']);
});

test('judge: a held record (badauth) is not ready and carries the fix', () => {
  const v = judge(report({ records: [rec({ provider: 'noip', name: 'home.example.net', result: 'held', why: 'No-IP answered badauth', fix: 'check username and password' })] }));
  assert.deepEqual(v.problems, ['noip home.example.net: held — No-IP answered badauth; check username and password']);
});

test('judge: failed, retryAfter and waiting records are problems; current and updated are not', () => {
  const v = judge(report({ records: [rec({ result: 'failed', why: 'timed out' }), rec({ result: 'retryAfter', why: '911' }), rec({ result: 'current' }), rec({ result: 'updated' }), rec({ result: 'waiting', why: 'until 05:00' })] }));
  assert.equal(v.problems.length, 3);
  assert.match(v.problems[0] ?? '', /update failed — timed out/);
  assert.match(v.problems[1] ?? '', /asked to wait — 911/);
});

test('diff: the first cycle reports the address from null and a failure only if bad', () => {
  const r = report();
  assert.deepEqual(diffReports(undefined, r, judge(r)), [{ kind: 'address', family: 4, from: null, to: '203.0.113.7' }]);
});

test('diff: a new address, an update, a new hold and the turn to failure', () => {
  const prev = report();
  const next = report({ families: [{ family: 4, address: '198.51.100.9' }], records: [rec({ result: 'updated' }), rec({ key: 'noip:x', result: 'held', why: 'badauth' })] });
  const kinds = diffReports({ report: prev, verdict: judge(prev), known: { 4: '203.0.113.7' } }, next, judge(next)).map((c) => c.kind);
  assert.deepEqual(kinds, ['address', 'updated', 'hold', 'failure']);
});

test('diff: a hold that persists is not reported again; its release and recovery are', () => {
  const held = report({ records: [rec({ result: 'held' })] });
  const again = diffReports({ report: held, verdict: judge(held), known: { 4: '203.0.113.7' } }, held, judge(held));
  assert.deepEqual(again, []);
  const fixed = report();
  assert.deepEqual(diffReports({ report: held, verdict: judge(held), known: { 4: '203.0.113.7' } }, fixed, judge(fixed)).map((c) => c.kind), ['released', 'recovery']);
});

test('health: not ready before the first cycle, ready after a good one, not ready while a forward fails', () => {
  const h = new Health(1000);
  assert.deepEqual(h.readiness().reasons, ['starting: the first cycle has not finished yet']);
  h.cycle({ ok: true, problems: [] }, 2000);
  assert.equal(h.readiness().ready, true);
  assert.equal(h.readiness().lastSuccessAt, 2000);
  h.forward('tcp/2222', 'the router refused: secure mode');
  assert.deepEqual(h.readiness(), { ready: false, reasons: ['forward tcp/2222: the router refused: secure mode'], lastCycleAt: 2000, lastSuccessAt: 2000, startedAt: 1000 });
  h.keepForwards([]);
  assert.equal(h.readiness().ready, true);
});
