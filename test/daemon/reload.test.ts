/** The reload planner (src/daemon/reload.ts) as a table: old config, new config → what a SIGHUP changes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { planReload, schedulerTimed, type ReloadPlan } from '../../src/daemon/reload.js';

const duck = (domain: string, families?: (4 | 6)[]) => ({ provider: 'duckdns' as const, domains: [domain], token: 'tok-1234', ...(families ? { families } : {}) });
const base: ConfigInput = { records: [duck('home')], state: '/var/lib/ddns/state.json', daemon: { listen: '127.0.0.1:9876', interval: 300 } };
const cfg = (patch: (c: ConfigInput) => ConfigInput = (c) => c) => configSchema.parse(patch(structuredClone(base)));

type Want = Partial<Omit<ReloadPlan, 'config' | 'partial'>> & { partial?: string[] };

const rows: { name: string; next: ReturnType<typeof cfg>; want: Want }[] = [
  { name: 'the same config changes nothing', next: cfg(), want: { partial: [], restartWatcher: false, notifyChanged: false, forwardsChanged: false, timed: false, intervalMs: 300_000 } },
  { name: 'a new record for the same family keeps the watcher', next: cfg((c) => ({ ...c, records: [duck('home'), duck('cabin')] })), want: { restartWatcher: false } },
  { name: 'a record for IPv6 too restarts the watcher (more families)', next: cfg((c) => ({ ...c, records: [duck('home', [4, 6])] })), want: { restartWatcher: true } },
  { name: 'a new interval restarts the watcher and the scheduler follows it', next: cfg((c) => ({ ...c, daemon: { ...c.daemon, interval: 600 } })), want: { restartWatcher: true, intervalMs: 600_000 } },
  { name: 'a new quorum restarts the watcher', next: cfg((c) => ({ ...c, ip: { quorum: 3 } })), want: { restartWatcher: true } },
  { name: 'no records any more: the scheduler times cycles itself', next: cfg((c) => ({ ...c, records: [] })), want: { restartWatcher: true, timed: true } },
  { name: 'a new listen address waits for a restart', next: cfg((c) => ({ ...c, daemon: { ...c.daemon, listen: '0.0.0.0:9000' } })), want: { partial: ['daemon.listen'], restartWatcher: false } },
  { name: 'a new state path waits for a restart', next: cfg((c) => ({ ...c, state: '/tmp/other.json' })), want: { partial: ['state'] } },
  { name: 'a new notify target rebuilds the notifiers', next: cfg((c) => ({ ...c, daemon: { ...c.daemon, notify: [{ type: 'webhook', url: 'https://hooks.example.net/x' }] } })), want: { notifyChanged: true, restartWatcher: false } },
  { name: 'a new forward is a forwards change only', next: cfg((c) => ({ ...c, forwards: [{ internalPort: 22 }] })), want: { forwardsChanged: true, restartWatcher: false, notifyChanged: false } },
  { name: 'removeOnStop alone is a forwards change', next: cfg((c) => ({ ...c, daemon: { ...c.daemon, removeOnStop: true } })), want: { forwardsChanged: true } },
];

for (const row of rows) {
  test(`reload plan: ${row.name}`, () => {
    const old = cfg();
    const plan = planReload(old, row.next);
    const { partial, ...rest } = row.want;
    if (partial) assert.deepEqual(plan.partial.map((p) => p.key), partial);
    for (const [k, v] of Object.entries(rest)) assert.equal(plan[k as keyof typeof rest], v, k);
  });
}

test('reload plan: the restart-only keys keep their old values in the config now in force', () => {
  const old = cfg();
  const plan = planReload(old, cfg((c) => ({ ...c, state: '/tmp/other.json', daemon: { ...c.daemon, listen: '0.0.0.0:9000', interval: 900 } })));
  assert.equal(plan.config.state, old.state);
  assert.equal(plan.config.daemon.listen, old.daemon.listen);
  assert.equal(plan.config.daemon.interval, 900, 'everything else is the new config');
});

test('schedulerTimed: only when no watcher drives the cycles', () => {
  assert.equal(schedulerTimed(cfg()), false);
  assert.equal(schedulerTimed(cfg((c) => ({ ...c, records: [] }))), true);
});
