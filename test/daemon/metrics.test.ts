import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/daemon/metrics.js';
import type { CycleReport } from '../../src/daemon/report.js';
import { parsePrometheus, sampleValue } from './prom-text.js';

const report = (address: string | null, result: CycleReport['records'][number]['result'] = 'unchanged'): CycleReport => ({
  reasons: ['interval'], startedAt: 0, ms: 1500,
  families: [{ family: 4, address }],
  records: [{ key: 'k', provider: 'duckdns', name: 'myhome.duckdns.org', result }],
});

test('the metrics text parses as Prometheus exposition format and includes process metrics', async () => {
  const m = createMetrics();
  m.cycle(report('203.0.113.7'), true, 1_700_000_000_000);
  const { contentType, body } = await m.text();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const s = parsePrometheus(body);
  assert.ok(s.some((x) => x.name === 'process_resident_memory_bytes' || x.name === 'process_cpu_user_seconds_total'));
  assert.equal(sampleValue(s, 'ddns_last_success_timestamp_seconds'), 1_700_000_000);
  assert.equal(sampleValue(s, 'ddns_cycle_duration_seconds_count'), 1);
  assert.equal(sampleValue(s, 'ddns_cycle_duration_seconds_bucket', { le: '2.5' }), 1);
  assert.equal(sampleValue(s, 'ddns_cycle_duration_seconds_bucket', { le: '1' }), 0);
});

test('the address info keeps one series per family and follows a change', async () => {
  const m = createMetrics({ processMetrics: false });
  m.cycle(report('203.0.113.7'), true, 0);
  m.addressChanged(4);
  m.cycle(report('198.51.100.9', 'updated'), true, 0);
  const s = parsePrometheus((await m.text()).body);
  const info = s.filter((x) => x.name === 'ddns_public_address_info');
  assert.deepEqual(info.map((x) => x.labels), [{ family: '4', address: '198.51.100.9' }]);
  assert.equal(sampleValue(s, 'ddns_address_changes_total', { family: '4' }), 1);
  assert.equal(sampleValue(s, 'ddns_public_address_known', { family: '4' }), 1);
});

test('an unknown address sets known to 0 and keeps the last published info', async () => {
  const m = createMetrics({ processMetrics: false });
  m.cycle(report('203.0.113.7'), true, 0);
  m.cycle(report(null), false, 0);
  const s = parsePrometheus((await m.text()).body);
  assert.equal(sampleValue(s, 'ddns_public_address_known', { family: '4' }), 0);
  assert.equal(sampleValue(s, 'ddns_cycles_total', { result: 'failed' }), 1);
  assert.equal(sampleValue(s, 'ddns_cycles_total', { result: 'ok' }), 1);
});

test('updates count by provider and outcome; holds are a gauge that goes back to 0', async () => {
  const m = createMetrics({ processMetrics: false });
  m.cycle(report('203.0.113.7', 'held'), false, 0);
  let s = parsePrometheus((await m.text()).body);
  assert.equal(sampleValue(s, 'ddns_record_updates_total', { provider: 'duckdns', outcome: 'held' }), 1);
  assert.equal(sampleValue(s, 'ddns_record_holds', { provider: 'duckdns' }), 1);
  m.cycle(report('203.0.113.7', 'updated'), true, 0);
  s = parsePrometheus((await m.text()).body);
  assert.equal(sampleValue(s, 'ddns_record_holds', { provider: 'duckdns' }), 0);
  assert.equal(sampleValue(s, 'ddns_record_updates_total', { provider: 'duckdns', outcome: 'updated' }), 1);
});

test('mapping renewals, re-creations and failures count by protocol; ready flips', async () => {
  const m = createMetrics({ processMetrics: false });
  m.mapping('renewal', 'tcp');
  m.mapping('renewal', 'tcp');
  m.mapping('recreation', 'udp');
  m.mapping('failure', 'tcp');
  m.confirmation('interval');
  m.confirmation('announcement');
  m.confirmation('interval');
  m.ready(true);
  const s = parsePrometheus((await m.text()).body);
  assert.equal(sampleValue(s, 'ddns_mapping_renewals_total', { protocol: 'tcp' }), 2);
  assert.equal(sampleValue(s, 'ddns_mapping_recreations_total', { protocol: 'udp' }), 1);
  assert.equal(sampleValue(s, 'ddns_mapping_failures_total', { protocol: 'tcp' }), 1);
  assert.equal(sampleValue(s, 'ddns_ready'), 1);
  assert.equal(sampleValue(s, 'ddns_ip_confirmations_total', { trigger: 'interval' }), 2);
  assert.equal(sampleValue(s, 'ddns_ip_confirmations_total', { trigger: 'announcement' }), 1);
});

test('the Prometheus reader rejects a malformed line (so parsing proves validity)', () => {
  assert.throws(() => parsePrometheus('ddns_ready one\n'), /bad value/);
  assert.throws(() => parsePrometheus('ddns_ready\n'), /not a sample/);
  assert.throws(() => parsePrometheus('x{a=b} 1\n'), /bad labels/);
});

test('the path check: one series per step with its status (2 pass, 1 warn, 0 fail, -1 skip), ok, time and duration', async () => {
  const m = createMetrics({ processMetrics: false });
  const step = (id: string, status: 'pass' | 'warn' | 'fail' | 'skip') => ({ id: id as 'lan', status, summary: '', ms: 1 });
  m.pathCheck({ ok: true, nat: 'single', publicAddress: { '4': '44.0.0.2', '6': null }, ms: 2500, steps: [step('lan', 'pass'), step('reach', 'pass'), step('hairpin', 'warn'), step('dns', 'skip')] }, 1_700_000_000_500);
  m.pathCheck({ ok: false, nat: 'single', publicAddress: { '4': '44.0.0.2', '6': null }, ms: 3000, steps: [step('lan', 'pass'), step('reach', 'fail'), step('hairpin', 'warn'), step('dns', 'skip')] }, 1_700_000_060_000);
  const s = parsePrometheus((await m.text()).body);
  assert.deepEqual(s.filter((x) => x.name === 'ddns_check_step_status').map((x) => [x.labels.step, x.value]), [['lan', 2], ['reach', 0], ['hairpin', 1], ['dns', -1]]);
  assert.equal(sampleValue(s, 'ddns_check_ok'), 0);
  assert.equal(sampleValue(s, 'ddns_check_last_timestamp_seconds'), 1_700_000_060);
  assert.equal(sampleValue(s, 'ddns_check_duration_seconds'), 3);
  assert.equal(sampleValue(s, 'ddns_checks_total', { result: 'ok' }), 1);
  assert.equal(sampleValue(s, 'ddns_checks_total', { result: 'failed' }), 1);
});
