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
