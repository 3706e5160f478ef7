import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { Forwards, forwardKey, legacyMappings, requestOf, type ForwardEvent, type ForwardsDeps } from '../../src/daemon/forwards.js';
import { MappingSession } from '../../src/portmap/session.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forwardSchema } from '../../src/config/schema.js';
import type { LanContext } from '../../src/portmap/types.js';
import type { Mapper, MappingKey } from '../../src/portmap/mapper.js';
import type { LanResult } from '../../src/portmap/lan.js';
import type { KeepOptions } from '../../src/portmap/upkeep.js';
import { ManualClock, settle } from '../../src/state/clock.js';
import { until } from '../helpers/until.js';


const log = createLogger({ level: 'silent', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
const lanAt = (address: string): LanContext => ({ gateway: '192.168.1.1', address, interface: 'eth0', prefixLength: 24 });
const fwd = forwardSchema.parse({ internalPort: 22, externalPort: 2222 });

test('forwards are keyed by protocol and external port; lease 0 becomes a renewed day', () => {
  assert.equal(forwardKey(fwd), 'tcp/2222');
  assert.equal(forwardKey(forwardSchema.parse({ internalPort: 53, protocol: 'udp' })), 'udp/53');
  assert.equal(requestOf(forwardSchema.parse({ internalPort: 80, lease: 0 })).leaseSeconds, 86_400);
  assert.equal(requestOf(fwd).externalPort, 2222);
});

test('a LAN address change removes the mappings made from the old address and maps again from the new one', async () => {
  let lan: LanResult = { ok: true, lan: lanAt('192.168.1.50') };
  const runs: { lan: LanContext; removed?: boolean }[] = [];
  const events: ForwardEvent[] = [];
  const f = new Forwards({
    forwards: [fwd], removeOnStop: false, log, onEvent: (e) => events.push(e),
    deps: {
      lanContext: async () => lan,
      openMapper: async (_v, l) => ({ ok: true, mapper: { via: 'upnp', lan: l, close: async () => undefined } as unknown as Mapper }),
      keep: async (m, _r, o: KeepOptions) => {
        const run: (typeof runs)[number] = { lan: m.lan };
        runs.push(run);
        await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
        run.removed = o.removeOnStop === true;
      },
    },
  });
  f.start();
  await until('the first upkeep', () => runs.length > 0);
  assert.equal(await f.checkLan(), false, 'nothing changed yet');
  lan = { ok: true, lan: lanAt('192.168.1.77') };
  assert.equal(await f.checkLan(), true);
  await until('a second upkeep', () => runs.length >= 2);
  assert.deepEqual(runs.map((r) => r.lan.address), ['192.168.1.50', '192.168.1.77']);
  assert.equal(runs[0]?.removed, true, 'the old mappings were not removed');
  assert.ok(events.some((e) => e.kind === 'lan-changed'));
  await f.stop();
  assert.equal(runs[1]?.removed, false, 'removeOnStop is off: the mapping must stay');
});

test('no default route: every forward is reported unavailable and retried, and stop ends the retries', async () => {
  const clock = new ManualClock(0);
  let asked = 0;
  const events: ForwardEvent[] = [];
  const f = new Forwards({
    forwards: [fwd], removeOnStop: false, log, onEvent: (e) => events.push(e), retry: { baseMs: 10, maxMs: 20 }, clock, random: () => 0.5,
    deps: {
      lanContext: async () => { asked++; return { ok: false, why: 'no IPv4 default route' }; },
      openMapper: async () => assert.fail('no mapper without a LAN'),
      keep: async () => assert.fail('no upkeep without a LAN'),
    },
  });
  f.start();
  await until('the first LAN question', () => asked === 1);
  await clock.advance(100);
  assert.ok(asked >= 3, `retried ${asked} times`);
  assert.deepEqual(events[0], { kind: 'unavailable', keys: ['tcp/2222'], message: 'no IPv4 default route' });
  await f.stop();
  const n = asked;
  await clock.advance(10_000);
  assert.equal(asked, n, 'retries went on after stop');
});

test('a PCP nonce from an old state file is given back to the mapper (adopt), and the new one is recorded in the ledger (ownershipOf)', async () => {
  const nonce = '00112233445566778899aabb';
  const adopted: Array<{ protocol: string; internalPort: number; ownership: string }> = [];
  let current: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'forwards-'));
  const session = new MappingSession(join(dir, 'portmap.json'));
  const deps: ForwardsDeps = {
    lanContext: async () => ({ ok: true, lan: lanAt('192.168.1.50') }),
    openMapper: async (_v, l) => ({
      ok: true,
      mapper: {
        via: 'pcp', lan: l, close: async () => undefined,
        adopt: (m: MappingKey, ownership: string) => { adopted.push({ protocol: m.protocol, internalPort: m.internalPort, ownership }); current = ownership; },
        ownershipOf: (m: MappingKey) => (m.protocol === 'tcp' && m.internalPort === 22 ? current : undefined),
      } as unknown as Mapper,
    }),
    keep: async (_m, _r, o) => {
      current = 'ffeeddccbbaa998877665544';
      o.onEvent?.({ event: 'mapping.renewed', mapping: { via: 'pcp', protocol: 'tcp', externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, description: 'ddns', leaseSeconds: 7200 }, renewInMs: 1 });
      await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  const f = new Forwards({
    forwards: [fwd], removeOnStop: false, log, deps,
    legacy: legacyMappings({ 'tcp/2222': { via: 'pcp', protocol: 'tcp', externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, gateway: '192.168.1.1', leaseSeconds: 7200, at: new Date().toISOString(), nonce } }),
    session,
  });
  f.start();
  await until('the nonce in the snapshot', () => f.snapshot()['tcp/2222']?.ownership?.startsWith('ff') === true);
  assert.deepEqual(adopted, [{ protocol: 'tcp', internalPort: 22, ownership: nonce }], 'the stored nonce was handed to the PCP mapper');
  assert.equal(f.snapshot()['tcp/2222']?.ownership, 'ffeeddccbbaa998877665544');
  await f.stop();
  await session.idle();
  assert.deepEqual((await session.mappings('192.168.1.1')).map((e) => [e.externalPort, e.ownership]), [[2222, 'ffeeddccbbaa998877665544']], 'the ledger has the new nonce');

  // A restarted daemon takes it from the ledger.
  adopted.length = 0;
  const again = new Forwards({ forwards: [fwd], removeOnStop: false, log, session, deps: { ...deps, keep: async (_m, _r, o) => { await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true })); } } });
  again.start();
  await until('the adopt from the ledger', () => adopted.length > 0);
  assert.deepEqual(adopted, [{ protocol: 'tcp', internalPort: 22, ownership: 'ffeeddccbbaa998877665544' }]);
  await again.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a permanent grant (lease 0) is kept in the ledger as permanent, not as expiring now', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'forwards-'));
  const session = new MappingSession(join(dir, 'portmap.json'));
  const deps: ForwardsDeps = {
    lanContext: async () => ({ ok: true, lan: lanAt('192.168.1.50') }),
    openMapper: async (_v, l) => ({ ok: true, mapper: { via: 'upnp', lan: l, close: async () => undefined } as unknown as Mapper }),
    keep: async (_m, _r, o) => {
      o.onEvent?.({ event: 'mapping.added', mapping: { via: 'upnp', protocol: 'tcp', externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, description: 'ddns', leaseSeconds: 0 }, renewInMs: 60_000 });
      await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  const f = new Forwards({ forwards: [fwd], removeOnStop: false, log, deps, session });
  f.start();
  await until('the grant in the snapshot', () => f.snapshot()['tcp/2222'] !== undefined);
  assert.equal(f.snapshot()['tcp/2222']?.expiresAt, 0);
  await f.stop();
  await session.idle();
  assert.deepEqual((await session.mappings('192.168.1.1')).map((e) => [e.externalPort, e.leaseSeconds, e.expiresAt]), [[2222, 0, 0]], 'read back from the file: still there, permanent');
  rmSync(dir, { recursive: true, force: true });
});

test('two LAN checks at once re-map only once', async () => {
  let lan: LanResult = { ok: true, lan: lanAt('192.168.1.50') };
  let runs = 0;
  const f = new Forwards({
    forwards: [fwd], removeOnStop: false, log,
    deps: {
      lanContext: async () => lan,
      openMapper: async (_v, l) => ({ ok: true, mapper: { via: 'upnp', lan: l, close: async () => undefined } as unknown as Mapper }),
      keep: async (_m, _r, o: KeepOptions) => { runs++; await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true })); },
    },
  });
  f.start();
  await until('the first upkeep', () => runs > 0);
  lan = { ok: true, lan: lanAt('192.168.1.77') };
  const [a, b] = await Promise.all([f.checkLan(), f.checkLan()]);
  assert.deepEqual([a, b], [true, true]);
  await until('a second upkeep', () => runs >= 2);
  await settle(20); // a third generation, if one were launched, would have reached keep() by now
  await f.stop();
  assert.equal(runs, 2, 'the forward was mapped by more than one new generation');
});

test('"recreated" is decided here: the first grant is added, a grant after a LAN move is recreated', async () => {
  let lan: LanResult = { ok: true, lan: lanAt('192.168.1.50') };
  let runs = 0;
  const events: ForwardEvent[] = [];
  const f = new Forwards({
    forwards: [fwd], removeOnStop: false, log, onEvent: (e) => events.push(e),
    deps: {
      lanContext: async () => lan,
      openMapper: async (_v, l) => ({ ok: true, mapper: { via: 'upnp', lan: l, close: async () => undefined } as unknown as Mapper }),
      keep: async (m, requests, o: KeepOptions) => {
        runs++;
        for (const r of requests) {
          const mapping = { via: 'upnp' as const, protocol: r.protocol, externalPort: r.externalPort ?? r.internalPort, internalAddress: m.lan.address, internalPort: r.internalPort, description: r.description, leaseSeconds: r.leaseSeconds };
          o.onEvent?.({ event: 'mapping.added', mapping, renewInMs: 1000 });
          o.onEvent?.({ event: 'mapping.renewed', mapping, renewInMs: 1000 });
        }
        await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
      },
    },
  });
  f.start();
  for (let i = 0; i < 50 && runs === 0; i++) await new Promise((r) => setTimeout(r, 5));
  lan = { ok: true, lan: lanAt('192.168.1.77') };
  assert.equal(await f.checkLan(), true);
  for (let i = 0; i < 50 && runs < 2; i++) await new Promise((r) => setTimeout(r, 5));
  await f.stop();
  const hows = events.flatMap((e) => (e.kind === 'mapped' ? [e.how] : []));
  assert.deepEqual(hows, ['added', 'renewed', 'recreated', 'renewed']);
});
