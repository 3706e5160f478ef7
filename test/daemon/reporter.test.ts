/** The reporter (src/daemon/reporter.ts): events in, readiness, metrics and log events out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { Reporter } from '../../src/daemon/reporter.js';
import { parsePrometheus, sampleValue } from './prom-text.js';

function reporter() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const metrics = createMetrics({ processMetrics: false });
  const r = new Reporter({ log: createLogger({ level: 'debug', destination }), metrics, notify: [], startedAt: 0, now: () => 1000 });
  return { r, lines, metrics };
}

const mapping = { via: 'natpmp' as const, protocol: 'tcp' as const, externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, description: 'ssh', leaseSeconds: 3600 };

test('a finished good cycle makes the daemon ready; a failing service makes it unready with the service named', () => {
  const { r } = reporter();
  assert.equal(r.health.readiness().ready, false, 'not ready before the first cycle');
  const verdict = r.cycle({ reasons: ['start'], startedAt: 0, ms: 5, families: [{ family: 4, address: '203.0.113.7' }], records: [] });
  assert.equal(verdict.ok, true);
  assert.equal(r.health.readiness().ready, true);
  r.service('tunnel', 'the relay refused the key');
  assert.deepEqual(r.health.readiness().reasons, ['tunnel: the relay refused the key']);
  r.service('tunnel', undefined);
  assert.equal(r.health.readiness().ready, true);
});

test('forward events: the classification from forwards.ts becomes the event name and the metric', async () => {
  const { r, lines, metrics } = reporter();
  r.forward({ kind: 'mapped', key: 'tcp/2222', mapping, how: 'added' });
  r.forward({ kind: 'mapped', key: 'tcp/2222', mapping, how: 'recreated' });
  r.forward({ kind: 'failed', key: 'tcp/2222', message: 'ConflictInMappingEntry' });
  assert.deepEqual(lines.map((l) => l.event), ['mapping.added', 'mapping.recreated', 'mapping.failed']);
  assert.match(r.health.readiness().reasons.join('\n'), /forward tcp\/2222: ConflictInMappingEntry/);
  const samples = parsePrometheus((await metrics.text()).body);
  assert.equal(sampleValue(samples, 'ddns_mapping_recreations_total', { protocol: 'tcp' }), 1);
});

test('pinhole events: health and /status.json under the forward\'s IPv6 key, the pinhole metrics, pinhole.* log events', async () => {
  const { r, lines, metrics } = reporter();
  const pinhole = { via: 'upnp' as const, protocol: 'tcp' as const, internalAddress: '2a0d:dd00:77::50', internalPort: 22, id: 3, leaseSeconds: 600 };
  const forwards = [{ internalPort: 22, protocol: 'tcp' as const, description: 'ssh', lease: 600, via: 'auto' as const, families: [4, 6] as Array<4 | 6> }];
  r.cycle({ reasons: ['start'], startedAt: 0, ms: 5, families: [{ family: 6, address: '2a0d:dd00:77::50' }], records: [] });
  r.pinhole({ kind: 'failed', key: 'tcp/22', message: 'the router\'s IPv6 firewall refused' });
  assert.deepEqual(r.health.readiness().reasons, ['forward tcp/22 (IPv6): the router\'s IPv6 firewall refused']);
  const before = r.status.document({ now: 1000, forwards, mappings: {}, pinholes: {}, tunnels: [], check: null }).forwards[0];
  assert.equal(before?.pinhole, null);
  assert.equal(before?.pinholeProblem, 'the router\'s IPv6 firewall refused');
  assert.equal(before?.mapping, null, 'the IPv4 side is tracked on its own');
  r.pinhole({ kind: 'opened', key: 'tcp/22', pinhole, how: 'added' });
  r.pinhole({ kind: 'gone', key: 'tcp/22', pinhole, why: 'the router does not hold id 3 for us' });
  r.pinhole({ kind: 'opened', key: 'tcp/22', pinhole: { ...pinhole, id: 1 }, how: 'recreated' });
  assert.equal(r.health.readiness().ready, true);
  const doc = r.status.document({ now: 1000, forwards, mappings: {}, pinholes: { 'tcp/22': { ...pinhole, id: 1, at: '2026-11-30T00:00:00.000Z' } }, tunnels: [], check: null });
  assert.deepEqual(doc.forwards[0]?.pinhole, { via: 'upnp', internalAddress: pinhole.internalAddress, internalPort: 22, id: 1, leaseSeconds: 600, grantedAt: '2026-11-30T00:00:00.000Z', expiresAt: '2026-11-30T00:10:00.000Z' });
  assert.deepEqual(doc.forwards[0]?.families, [4, 6]);
  assert.deepEqual(lines.map((l) => l.event).filter((e) => String(e).startsWith('pinhole.')), ['pinhole.failed', 'pinhole.opened', 'pinhole.gone', 'pinhole.recreated']);
  const samples = parsePrometheus((await metrics.text()).body);
  assert.equal(sampleValue(samples, 'ddns_pinhole_open', { forward: 'tcp/22' }), 1);
  assert.equal(sampleValue(samples, 'ddns_pinhole_recreations_total', { protocol: 'tcp' }), 1);
  assert.equal(sampleValue(samples, 'ddns_pinhole_failures_total', { protocol: 'tcp' }), 1);
  const v6only = r.status.document({ now: 1000, forwards: [{ ...forwards[0]!, families: [6] }], mappings: {}, pinholes: {}, tunnels: [], check: null }).forwards[0];
  assert.equal('mapping' in (v6only ?? {}), false, 'families [6]: no IPv4 mapping is wanted');
});
