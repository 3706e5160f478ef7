/** Consensus: the pure verdict (table) and the hedged runner with scripted sources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { askingOrder, decide, runConsensus, type Answer } from '../../src/publicip/consensus.js';
import type { Family } from '../../src/net/address.js';
import type { ObserveOptions, Source, SourceResult, Vantage } from '../../src/publicip/source.js';
import { ManualClock } from '../../src/state/clock.js';

const ok = (address: string): SourceResult => ({ ok: true, family: 4, address, ms: 1, evidence: address });
const bad = (why = 'nope'): SourceResult => ({ ok: false, family: 4, kind: 'invalid', why, ms: 1 });
const ans = (id: string, operator: string, result: SourceResult, vantage: Vantage = 'outside'): Answer => ({ id, operator, vantage, result });

const verdicts: Array<[string, Answer[], number, boolean, string, string | undefined]> = [
  ['two operators agree → agreed', [ans('a', 'A', ok('44.0.0.2')), ans('b', 'B', ok('44.0.0.2'))], 2, true, 'agreed', '44.0.0.2'],
  ['one operator twice is not a quorum of two', [ans('a', 'A', ok('44.0.0.2')), ans('a2', 'A', ok('44.0.0.2'))], 2, false, 'no-quorum', undefined],
  ['two different addresses → disagreement, even with more to come', [ans('a', 'A', ok('44.0.0.2')), ans('b', 'B', ok('44.0.0.3'))], 2, true, 'disagreement', undefined],
  ['two agree and one dissents → disagreement, not a majority vote', [ans('a', 'A', ok('44.0.0.2')), ans('b', 'B', ok('44.0.0.2')), ans('c', 'C', ok('44.0.0.9'))], 2, false, 'disagreement', undefined],
  ['failures do not count as dissent', [ans('a', 'A', ok('44.0.0.2')), ans('x', 'X', bad()), ans('b', 'B', ok('44.0.0.2'))], 2, false, 'agreed', '44.0.0.2'],
  ['all failing → no-quorum', [ans('a', 'A', bad()), ans('b', 'B', bad())], 2, false, 'no-quorum', undefined],
  ['one answer with more to come → pending', [ans('a', 'A', ok('44.0.0.2'))], 2, true, 'pending', undefined],
  ['router alone never publishes, even at quorum 1', [ans('r', 'router', ok('44.0.0.2'), 'router')], 1, false, 'no-quorum', undefined],
  ['router plus one outside source reach quorum 2', [ans('r', 'router', ok('44.0.0.2'), 'router'), ans('a', 'A', ok('44.0.0.2'))], 2, false, 'agreed', '44.0.0.2'],
  ['a router disagreeing with the outside is a disagreement', [ans('r', 'router', ok('44.0.0.7'), 'router'), ans('a', 'A', ok('44.0.0.2')), ans('b', 'B', ok('44.0.0.2'))], 2, false, 'disagreement', undefined],
  ['quorum 1 with a single outside answer → agreed', [ans('a', 'A', ok('44.0.0.2'))], 1, true, 'agreed', '44.0.0.2'],
  ['no answers at all → no-quorum', [], 2, false, 'no-quorum', undefined],
];

for (const [what, answers, quorum, more, kind, address] of verdicts) {
  test(`decide: ${what}`, () => {
    const v = decide(answers, quorum, more);
    assert.equal(v.kind, kind);
    if (address) assert.equal(v.kind === 'agreed' && v.address, address);
  });
}

test('askingOrder interleaves operators so the first sources asked are independent', () => {
  const order = askingOrder([{ operator: 'A', n: 1 }, { operator: 'A', n: 2 }, { operator: 'B', n: 3 }, { operator: 'C', n: 4 }, { operator: 'B', n: 5 }]);
  assert.deepEqual(order.map((s) => s.n), [1, 3, 4, 2, 5]);
});

/**
 * Runner tests run on a manual clock: sources answer after `ms` of that clock, hedges and watchdogs are its
 * timers, and time moves only through `clock.advance` — so "quickly" is a clock reading, exact on any machine.
 */
let clock = new ManualClock(0);

/** A scripted source: answers after `ms` (or never, when `ms` is Infinity), honouring the signal. */
class Fake implements Source {
  readonly type = 'http' as const;
  readonly families: Family[] = [4, 6];
  started = 0;
  aborted = 0;
  constructor(readonly id: string, readonly operator: string, private readonly ms: number, private readonly result: SourceResult | 'throw', readonly vantage: Vantage = 'outside') {}
  observe(family: Family, o: ObserveOptions = {}): Promise<SourceResult> {
    this.started++;
    if (this.result === 'throw') throw new Error('bug in a source');
    const result = this.result;
    return new Promise((resolve) => {
      const t = Number.isFinite(this.ms) ? clock.setTimer(() => resolve({ ...result, family }), this.ms) : undefined;
      o.signal?.addEventListener('abort', () => { this.aborted++; t?.cancel(); resolve({ ok: false, family, kind: 'aborted', why: 'aborted', ms: 0 }); }, { once: true });
    });
  }
}

/** Runs consensus on a fresh manual clock; `after` is how much clock time passes before the answer is read. */
async function consensus(s: Source[], family: Family, o: Parameters<typeof runConsensus>[2], after = 60_000): Promise<Awaited<ReturnType<typeof runConsensus>> & { at: number }> {
  clock = new ManualClock(0);
  let at = -1;
  const p = runConsensus(s, family, { now: () => clock.now(), setTimer: (fn, ms) => clock.setTimer(fn, ms), ...o }).then((r) => { at = clock.now(); return r; });
  await clock.advance(after);
  assert.ok(at >= 0, `no verdict after ${after} ms of clock time`);
  return { ...(await p), at };
}

test('runner stops at the quorum and cancels the sources still running', async () => {
  const s = [new Fake('a', 'A', 5, ok('44.0.0.2')), new Fake('b', 'B', 10, ok('44.0.0.2')), new Fake('c', 'C', Infinity, ok('44.0.0.2'))];
  const r = await consensus(s, 4, { quorum: 2, hedgeMs: 1000 });
  assert.equal(r.address, '44.0.0.2');
  assert.equal(r.at, 10, 'the verdict came with the second answer');
  assert.deepEqual(r.agreeing.sort(), ['a', 'b']);
  assert.equal(s[2]?.started, 0, 'a third source is not asked when two suffice');
  assert.equal(r.sources.find((x) => x.id === 'c')?.status, 'skipped');
});

test('runner hedges past two hung sources and reaches the quorum quickly', async () => {
  const s = [
    new Fake('hang1', 'H1', Infinity, ok('44.0.0.2')), new Fake('hang2', 'H2', Infinity, ok('44.0.0.2')),
    new Fake('a', 'A', 5, ok('44.0.0.2')), new Fake('b', 'B', 5, ok('44.0.0.2')), new Fake('c', 'C', 5, ok('44.0.0.2')), new Fake('d', 'D', 5, ok('44.0.0.2')),
  ];
  const r = await consensus(s, 4, { quorum: 2, hedgeMs: 40 });
  assert.equal(r.address, '44.0.0.2');
  assert.equal(r.at, 45, 'one hedge (40 ms) plus the hedged sources\' 5 ms');
  assert.equal(r.sources.find((x) => x.id === 'hang1')?.status, 'cancelled');
  assert.equal(s[0]?.aborted, 1, 'a hung source is aborted through its signal');
});

test('runner replaces a failed source at once, without waiting for the hedge', async () => {
  const s = [new Fake('x', 'X', 1, bad()), new Fake('a', 'A', 5, ok('44.0.0.2')), new Fake('b', 'B', 5, ok('44.0.0.2'))];
  const r = await consensus(s, 4, { quorum: 2, hedgeMs: 5000 });
  assert.equal(r.address, '44.0.0.2');
  assert.equal(r.at, 6, 'the replacement started at 1 ms, when the failure came, not at the 5 s hedge');
});

test('runner reports a disagreement with both addresses and publishes nothing', async () => {
  const s = [new Fake('a', 'A', 5, ok('44.0.0.2')), new Fake('b', 'B', 5, ok('44.0.0.3')), new Fake('c', 'C', 5, ok('44.0.0.2'))];
  const r = await consensus(s, 4, { quorum: 2, hedgeMs: 1000 });
  assert.equal(r.address, null);
  assert.equal(r.verdict, 'disagreement');
  assert.deepEqual(r.candidates?.map((c) => c.address).sort(), ['44.0.0.2', '44.0.0.3']);
});

test('runner with every source failing returns no address, each error reported', async () => {
  const s = [new Fake('a', 'A', 1, bad('html')), new Fake('b', 'B', 1, bad('cgnat')), new Fake('c', 'C', 1, bad('empty'))];
  const r = await consensus(s, 4, { quorum: 2 });
  assert.equal(r.address, null);
  assert.equal(r.verdict, 'no-quorum');
  assert.deepEqual(r.sources.map((x) => x.error), ['html', 'cgnat', 'empty']);
});

test('runner turns a source that throws into a failure', async () => {
  const s = [new Fake('boom', 'X', 1, 'throw'), new Fake('a', 'A', 1, ok('44.0.0.2')), new Fake('b', 'B', 1, ok('44.0.0.2'))];
  const r = await consensus(s, 4, { quorum: 2 });
  assert.equal(r.address, '44.0.0.2');
  assert.match(r.sources.find((x) => x.id === 'boom')?.error ?? '', /bug in a source/);
});

test('runner never publishes what only the router says', async () => {
  const s = [new Fake('natpmp', 'router', 1, ok('44.0.0.2'), 'router'), new Fake('x', 'X', 1, bad())];
  const r = await consensus(s, 4, { quorum: 1 });
  assert.equal(r.address, null);
  assert.match(r.message, /router/);
});

test('runner resolves at once when the caller aborts, with no address', async () => {
  const s = [new Fake('h1', 'A', Infinity, ok('44.0.0.2')), new Fake('h2', 'B', Infinity, ok('44.0.0.2'))];
  const ac = new AbortController();
  clock = new ManualClock(0);
  clock.setTimer(() => ac.abort(), 20);
  let at = -1;
  const p = runConsensus(s, 4, { quorum: 2, signal: ac.signal, now: () => clock.now(), setTimer: (fn, ms) => clock.setTimer(fn, ms) }).then((r) => { at = clock.now(); return r; });
  await clock.advance(20);
  assert.equal(at, 20, 'the verdict came when the caller aborted');
  const r = await p;
  assert.equal(r.address, null);
  assert.match(r.message, /aborted/);
});

test('runner only asks sources that serve the family', async () => {
  const v4only = new Fake('a', 'A', 1, ok('44.0.0.2'));
  v4only.families.splice(1, 1);
  const r = await consensus([v4only], 6, { quorum: 1 }, 0);
  assert.equal(v4only.started, 0);
  assert.equal(r.sources.length, 0);
  assert.equal(r.address, null);
});

test('runner does not hang on a source that ignores its signal: the watchdog counts it as a timeout', async () => {
  const deaf: Source = { id: 'deaf', operator: 'D', type: 'http', vantage: 'outside', families: [4], observe: () => new Promise(() => { /* never */ }) };
  const r = await consensus([deaf, new Fake('a', 'A', 1, ok('44.0.0.2'))], 4, { quorum: 2, sourceDeadlineMs: 50 });
  assert.equal(r.address, null);
  assert.equal(r.at, 50, 'the watchdog ended it at the source deadline');
  assert.equal(r.sources.find((x) => x.id === 'deaf')?.kind, 'timeout');
});
