/**
 * The one supervisor of the daemon's forwards and pinholes (src/daemon/generations.ts) on a manual clock:
 * no place → reported and retried with backoff; a move ends the generation (removing) and starts the next
 * from the new place; a reload restarts on the same place; stop ends within its budget, whatever the keep
 * step does; a throwing reporter never stops it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generations, type Generation, type Place, type PlaceResult } from '../../src/daemon/generations.js';
import { ManualClock, settle } from '../../src/state/clock.js';
import { until } from '../helpers/until.js';

const at = (address: string): Place => ({ address, gateway: '192.168.1.1' });

function harness(o: { place?: PlaceResult<Place>; keep?: (g: Generation<Place>) => Promise<void>; stopBudgetMs?: number } = {}) {
  let place: PlaceResult<Place> = o.place ?? { ok: true, lan: at('192.168.1.50') };
  const clock = new ManualClock();
  const runs: Array<{ lan: Place; removed?: boolean }> = [];
  const log: string[] = [];
  const gens = new Generations<Place>({
    context: async () => place,
    keep: o.keep ?? (async (g) => {
      const run: { lan: Place; removed?: boolean } = { lan: g.lan };
      runs.push(run);
      await new Promise<void>((r) => g.signal.addEventListener('abort', () => r(), { once: true }));
      run.removed = g.remove;
    }),
    keys: () => ['tcp/2222'],
    emit: (e) => {
      if (e.kind === 'lan-changed') { log.push(`moved ${e.from.address} → ${e.to.address}`); return; }
      log.push(`unavailable ${e.keys.join(',')} ${e.message}`);
      throw new Error('a reporter bug');
    },
  }, { retry: { baseMs: 1000, maxMs: 4000 }, clock, random: () => 0.5, ...(o.stopBudgetMs !== undefined ? { stopBudgetMs: o.stopBudgetMs } : {}) });
  return { gens, clock, runs, log, set: (p: PlaceResult<Place>) => { place = p; } };
}

test('no place: reported (a throwing reporter included) and retried with backoff until there is one; then one generation runs there', async () => {
  const h = harness({ place: { ok: false, why: 'no default route' } });
  h.gens.start();
  h.gens.start(); // a second start while the first looks is nothing
  await until('the first report', () => h.log.length === 1);
  await h.clock.advance(1000);
  await until('the retry', () => h.log.length === 2);
  h.set({ ok: true, lan: at('192.168.1.50') });
  await h.clock.advance(4000);
  await until('the generation', () => h.runs.length === 1);
  assert.deepEqual(h.log, ['unavailable tcp/2222 no default route', 'unavailable tcp/2222 no default route']);
  assert.equal(h.gens.lan?.address, '192.168.1.50');
  h.gens.start();
  await settle();
  assert.equal(h.runs.length, 1, 'start with a generation running launches no second one');
  await h.gens.stop(false);
  assert.equal(h.runs[0]?.removed, false);
});

test('a move ends the generation removing what it made and starts the next from the new place; the same place changes nothing', async () => {
  const h = harness();
  h.gens.start();
  await until('the generation', () => h.runs.length === 1);
  assert.equal(await h.gens.checkLan(), false);
  h.set({ ok: true, lan: at('192.168.1.77') });
  const [a, b] = await Promise.all([h.gens.checkLan(), h.gens.checkLan()]);
  assert.deepEqual([a, b], [true, true], 'one check at a time, both told');
  await until('the next generation', () => h.runs.length === 2);
  assert.deepEqual(h.runs.map((r) => [r.lan.address, r.removed]), [['192.168.1.50', true], ['192.168.1.77', undefined]]);
  assert.deepEqual(h.log, ['moved 192.168.1.50 → 192.168.1.77']);
  await h.gens.restart(false, true);
  await until('the generation after the reload', () => h.runs.length === 3);
  assert.deepEqual(h.runs.map((r) => r.removed), [true, false, undefined], 'a reload ends without removing when asked so, and starts again on the same place');
  assert.equal(h.runs[2]?.lan.address, '192.168.1.77');
  await h.gens.restart(true, false);
  assert.equal(h.runs[2]?.removed, true);
  assert.equal(h.gens.lan, undefined, 'nothing left to keep: no generation');
  await h.gens.stop(true);
});

test('stop ends within its budget although the keep step ignores the abort, and removes when asked', async () => {
  let seen: Generation<Place> | undefined;
  const h = harness({ stopBudgetMs: 50, keep: (g) => { seen = g; return new Promise<void>(() => {}); } });
  h.gens.start();
  await until('the generation', () => seen !== undefined);
  await h.gens.stop(true);
  assert.equal(seen?.signal.aborted, true);
  assert.equal(seen?.remove, true);
  h.gens.start();
  await settle();
  assert.equal(h.gens.lan, undefined, 'nothing starts after stop');
});
