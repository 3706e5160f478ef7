/** `map add --keep` and the ledger: each renewal writes the mapping's new expiry; the record goes when upkeep ends. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keepRecorded } from '../../src/cli/map-run.js';
import { readLedger } from '../../src/portmap/ledger.js';
import type { ListOutcome, Mapper, StatusOutcome } from '../../src/portmap/mapper.js';
import { MappingSession } from '../../src/portmap/session.js';
import type { MapOutcome, MappingRequest, RemoveOutcome } from '../../src/portmap/types.js';
import type { KeepEvent } from '../../src/portmap/upkeep.js';
import { ManualClock } from '../../src/state/clock.js';
import { until } from '../helpers/until.js';
import { LAN } from '../portmap/helpers/fakes.js';

const LEASE = 600;

/** A NAT-PMP router that grants every request for LEASE seconds. */
class Router implements Mapper {
  readonly via = 'natpmp' as const;
  readonly lan = LAN;
  async map(req: MappingRequest): Promise<MapOutcome> {
    return { kind: 'mapped', permanent: false, expiresAt: 0, mapping: { via: this.via, protocol: req.protocol, externalPort: req.externalPort ?? req.internalPort, internalAddress: LAN.address, internalPort: req.internalPort, description: req.description, leaseSeconds: LEASE } };
  }
  async unmap(): Promise<RemoveOutcome> { return { kind: 'removed', via: this.via }; }
  async list(): Promise<ListOutcome> { return { kind: 'unsupported', via: this.via, why: '' }; }
  async status(): Promise<StatusOutcome> { return { ok: true, externalAddress: '44.0.0.2', epoch: 1000 }; }
  async close(): Promise<void> {}
}

test('map add --keep: every renewal writes the ledger record\'s new expiry; the record goes when upkeep ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'map-keep-'));
  const path = join(dir, 'portmap.json');
  const clock = new ManualClock();
  const session = new MappingSession(path, () => clock.now());
  const events: KeepEvent[] = [];
  const ac = new AbortController();
  const expiry = async () => (await readLedger(path, clock.now())).map((e) => e.expiresAt);
  try {
    const t0 = clock.now();
    const done = keepRecorded(new Router(), { protocol: 'tcp', internalPort: 22, externalPort: 2222, leaseSeconds: LEASE, description: 'ssh' }, session, {
      signal: ac.signal, removeOnStop: true, announcements: false, checkIntervalMs: 10 * LEASE * 1000, random: () => 0,
      now: () => clock.now(), setTimer: (fn, ms) => clock.setTimer(fn, ms), onEvent: (e) => events.push(e),
    });
    await until('the first grant', () => events.length === 1);
    await session.idle();
    assert.deepEqual(await expiry(), [t0 + LEASE * 1000]);
    // Renewed at half the lease: the record now runs to a lease past the renewal.
    await clock.advance((LEASE / 2) * 1000);
    await until('the renewal', () => events.some((e) => e.event === 'mapping.renewed'));
    await session.idle();
    assert.deepEqual(await expiry(), [t0 + (LEASE / 2) * 1000 + LEASE * 1000]);
    ac.abort();
    await done;
    assert.deepEqual(await expiry(), []);
  } finally {
    ac.abort();
    rmSync(dir, { recursive: true, force: true });
  }
});
