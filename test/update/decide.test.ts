import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outcome } from '../../providers/provider.js';
import { ADDRESS_HISTORY_LIMIT, type RecordState } from '../../src/state/store.js';
import { applyOutcome, decide, type DecideInput, type LiveView } from '../../src/update/decide.js';

const NOW = new Date('2026-11-22T05:00:00Z');
const V4 = '44.0.0.2';
const OLD = '44.0.0.1';
const V6 = '2a01:4f8::2';
const pub = (a: string): RecordState => ({ published: { '4': { address: a, at: '2026-11-21T00:00:00.000Z' } } });
const live = (a: string[]): LiveView => ({ 4: { ok: true, names: { 'h.example.net': a } } });
const unknown: LiveView = { 4: { ok: false, why: 'timeout' } };
const input = (o: Partial<DecideInput>): DecideInput => ({ families: [4], wanted: { 4: V4 }, configHash: 'H', persisted: undefined, live: undefined, now: NOW, force: false, ...o });

describe('decide', () => {
  const table: Array<[string, Partial<DecideInput>, string, string?]> = [
    ['nothing known: send', {}, 'send', 'first'],
    ['live matches, nothing persisted: no request', { live: live([V4]) }, 'current'],
    ['persisted matches, live unknown: no request', { persisted: pub(V4), live: unknown }, 'current'],
    ['persisted matches, live differs: send', { persisted: pub(V4), live: live([OLD]) }, 'send', 'live-differs'],
    ['persisted matches, live has two addresses: send', { persisted: pub(V4), live: live([V4, OLD]) }, 'send', 'live-differs'],
    ['persisted matches, live has none: send', { persisted: pub(V4), live: live([]) }, 'send', 'live-differs'],
    ['persisted old, live unknown: send', { persisted: pub(OLD), live: unknown }, 'send', 'changed'],
    ['persisted old, live matches: no request', { persisted: pub(OLD), live: live([V4]) }, 'current'],
    ['current with force: send', { persisted: pub(V4), live: live([V4]), force: true }, 'send', 'force'],
    ['hold with the same config: held even with force', { persisted: { hold: { reason: 'badauth', fix: 'f', configHash: 'H', since: 's' } }, force: true }, 'held'],
    ['hold with another config: cleared, send', { persisted: { ...pub(OLD), hold: { reason: 'badauth', fix: 'f', configHash: 'OTHER', since: 's' } } }, 'send', 'changed'],
    ['retry pending: wait even with force', { persisted: { retryAfter: { until: '2026-11-22T05:10:00.000Z', why: '911' } }, force: true }, 'wait'],
    ['retry expired: send', { persisted: { retryAfter: { until: '2026-11-22T04:59:00.000Z', why: '911' } } }, 'send', 'first'],
    ['no wanted address: nothing to send', { wanted: { 4: null } }, 'noAddress'],
    ['IPv6 spelled differently still matches', { families: [6], wanted: { 6: V6 }, live: { 6: { ok: true, names: { h: ['2a01:04f8:0::2'] } } } }, 'current'],
  ];
  for (const [what, o, kind, reason] of table) {
    test(what, () => {
      const d = decide(input(o));
      assert.equal(d.kind, kind);
      if (reason) assert.equal(d.kind === 'send' ? d.reason : undefined, reason);
    });
  }

  test('when one family differs every known family is sent; an unknown family is reported missing', () => {
    const d = decide(input({ families: [4, 6], wanted: { 4: V4, 6: V6 }, live: { 4: { ok: true, names: { h: [V4] } }, 6: { ok: true, names: { h: [] } } } }));
    assert.ok(d.kind === 'send');
    assert.deepEqual(d.send, { 4: V4, 6: V6 });
    const m = decide(input({ families: [4, 6], wanted: { 4: V4, 6: null } }));
    assert.ok(m.kind === 'send');
    assert.deepEqual(m.send, { 4: V4 });
    assert.deepEqual(m.missing, [6]);
  });

  test('after a "no change" while DNS showed something else, the same DNS value sends nothing; another one does', () => {
    const first = decide(input({ persisted: pub(V4), live: live(['203.0.113.80']) }));
    assert.ok(first.kind === 'send');
    const after = applyOutcome(pub(V4), first, outcome.unchanged({ 4: V4 }), 'H', NOW);
    assert.ok(after.published?.['4']?.liveMismatch);
    assert.equal(decide(input({ persisted: after, live: live(['203.0.113.80']) })).kind, 'current');
    assert.equal(decide(input({ persisted: after, live: live(['203.0.113.81']) })).kind, 'send');
    const updated = applyOutcome(after, first, outcome.updated({ 4: V4 }), 'H', NOW);
    assert.equal(updated.published?.['4']?.liveMismatch, undefined, 'an update forgets the mismatch');
  });

  test('every name of a multi-name record must match', () => {
    const d = decide(input({ live: { 4: { ok: true, names: { a: [V4], b: [OLD] } } } }));
    assert.equal(d.kind, 'send');
  });
});

describe('applyOutcome', () => {
  const send = decide(input({}));
  test('updated records the addresses and clears holds and waits', () => {
    const s = applyOutcome({ retryAfter: { until: '2026-11-22T06:00:00.000Z', why: 'x' } }, send, outcome.updated({ 4: V4 }), 'H', NOW);
    assert.equal(s.published?.['4']?.address, V4);
    assert.equal(s.retryAfter, undefined);
    assert.equal(s.last?.kind, 'updated');
  });
  test('held stores the reason, the fix and the config hash', () => {
    const s = applyOutcome(undefined, send, outcome.held('badauth', 'set the password'), 'H', NOW);
    assert.deepEqual(s.hold, { reason: 'badauth', fix: 'set the password', configHash: 'H', since: NOW.toISOString() });
  });
  test('retryAfter stores the time', () => {
    const s = applyOutcome(undefined, send, outcome.retryAfter(1800, '911'), 'H', NOW);
    assert.equal(s.retryAfter?.until, '2026-11-22T05:30:00.000Z');
  });
  test('failed never records an address as published', () => {
    const s = applyOutcome(pub(OLD), send, outcome.failed('echoed 44.9.9.9'), 'H', NOW);
    assert.equal(s.published?.['4']?.address, OLD);
    assert.equal(s.last?.kind, 'failed');
  });
  test('a live confirmation is remembered as published', () => {
    const d = decide(input({ live: live([V4]) }));
    const s = applyOutcome(undefined, d, undefined, 'H', NOW);
    assert.equal(s.published?.['4']?.address, V4);
  });
  test('a moved address is a history entry, newest first; the same address or a failure is none', () => {
    const first = applyOutcome(undefined, send, outcome.updated({ 4: OLD }), 'H', new Date('2026-11-20T00:00:00Z'));
    assert.deepEqual(first.history, [{ at: '2026-11-20T00:00:00.000Z', family: 4, from: null, to: OLD }]);
    const moved = applyOutcome(first, send, outcome.updated({ 4: V4, 6: V6 }), 'H', NOW);
    assert.deepEqual(moved.history?.map((h) => [h.family, h.from, h.to, h.at]), [
      [6, null, V6, NOW.toISOString()], [4, OLD, V4, NOW.toISOString()], [4, null, OLD, '2026-11-20T00:00:00.000Z'],
    ]);
    assert.deepEqual(applyOutcome(moved, send, outcome.unchanged({ 4: V4, 6: V6 }), 'H', NOW).history, moved.history, 'no change, no entry');
    assert.deepEqual(applyOutcome(moved, send, outcome.failed('x'), 'H', NOW).history, moved.history);
    const confirmed = applyOutcome(pub(OLD), decide(input({ persisted: pub(OLD), live: live([V4]) })), undefined, 'H', NOW);
    assert.deepEqual(confirmed.history, [{ at: NOW.toISOString(), family: 4, from: OLD, to: V4 }], 'a live confirmation of a new address is a change too');
  });
  test('the history keeps the newest ADDRESS_HISTORY_LIMIT changes', () => {
    let s: RecordState | undefined;
    for (let i = 1; i <= ADDRESS_HISTORY_LIMIT + 5; i++) s = applyOutcome(s, send, outcome.updated({ 4: `44.0.1.${i}` }), 'H', NOW);
    assert.equal(s?.history?.length, ADDRESS_HISTORY_LIMIT);
    assert.equal(s?.history?.[0]?.to, `44.0.1.${ADDRESS_HISTORY_LIMIT + 5}`);
    assert.equal(s?.history?.at(-1)?.to, '44.0.1.6');
  });
  test('a cleared hold is removed even when no request was needed', () => {
    const d = decide(input({ persisted: { ...pub(V4), hold: { reason: 'x', fix: 'y', configHash: 'OLD', since: 's' } }, live: live([V4]) }));
    assert.equal(d.kind, 'current');
    assert.equal(applyOutcome({ ...pub(V4), hold: { reason: 'x', fix: 'y', configHash: 'OLD', since: 's' } }, d, undefined, 'H', NOW).hold, undefined);
  });
});
