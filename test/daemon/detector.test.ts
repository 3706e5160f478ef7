import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfirmingDetector } from '../../src/daemon/detector.js';
import type { PublicIpReport } from '../../src/publicip/detect.js';
import type { Source, SourceResult } from '../../src/publicip/source.js';
import type { Family } from '../../src/net/address.js';

function source(id: string, answers: string[], vantage: Source['vantage'] = 'outside'): Source & { asked: number } {
  const s = {
    id, type: 'http' as const, operator: id, vantage, families: [4, 6] as Family[], asked: 0,
    async observe(family: Family): Promise<SourceResult> {
      const a = answers[Math.min(s.asked++, answers.length - 1)] ?? '';
      return a ? { ok: true, family, address: a, ms: 1, evidence: a } : { ok: false, family, kind: 'timeout', why: 'timed out', ms: 1 };
    },
  };
  return s;
}

function fullFrom(addresses: string[]) {
  let n = 0;
  const calls: Family[][] = [];
  const full = async (families: readonly Family[]): Promise<PublicIpReport> => {
    calls.push([...families]);
    const address = addresses[Math.min(n++, addresses.length - 1)] ?? null;
    return { '4': { family: 4, address, agreeing: [], operators: [], quorum: 2, verdict: address ? 'agreed' : 'no-quorum', message: 'm', sources: [], ms: 1 } };
  };
  return { full, calls };
}

const signal = new AbortController().signal;

test('the first run is a full consensus', async () => {
  const f = fullFrom(['203.0.113.7']);
  const d = new ConfirmingDetector({ quorum: 2, full: f.full, sources: () => [source('a', ['203.0.113.7'])] });
  const r = await d.detect([4], signal);
  assert.equal(r['4']?.address, '203.0.113.7');
  assert.equal(f.calls.length, 1);
});

test('later runs ask one outside source, rotating, and skip consensus when it confirms', async () => {
  const f = fullFrom(['203.0.113.7']);
  const a = source('a', ['203.0.113.7']);
  const b = source('b', ['203.0.113.7']);
  const router = source('router', ['203.0.113.7'], 'router');
  const d = new ConfirmingDetector({ quorum: 2, full: f.full, sources: () => [router, a, b] });
  await d.detect([4], signal);
  for (let i = 0; i < 4; i++) {
    const r = await d.detect([4], signal);
    assert.equal(r['4']?.address, '203.0.113.7');
    assert.match(r['4']?.message ?? '', /confirmed by/);
  }
  assert.equal(f.calls.length, 1, 'consensus ran again although the address was confirmed');
  assert.deepEqual([a.asked, b.asked, router.asked], [2, 2, 0]);
});

test('a confirmation that disagrees or fails falls back to full consensus at once', async () => {
  const f = fullFrom(['203.0.113.7', '198.51.100.9', '198.51.100.9']);
  const a = source('a', ['198.51.100.9', '']);
  const d = new ConfirmingDetector({ quorum: 2, full: f.full, sources: () => [a] });
  await d.detect([4], signal);
  let r = await d.detect([4], signal);
  assert.equal(r['4']?.address, '198.51.100.9');
  assert.equal(f.calls.length, 2);
  r = await d.detect([4], signal);
  assert.equal(f.calls.length, 3, 'a failed confirmation did not fall back');
  assert.equal(r['4']?.address, '198.51.100.9');
});

test('after a local signal (forceFull) the next run is full consensus even if the address is known', async () => {
  const f = fullFrom(['203.0.113.7']);
  const a = source('a', ['203.0.113.7']);
  const d = new ConfirmingDetector({ quorum: 2, full: f.full, sources: () => [a] });
  await d.detect([4], signal);
  d.forceFull();
  await d.detect([4], signal);
  assert.equal(f.calls.length, 2);
  assert.equal(a.asked, 0);
});

test('a family with no known address (no quorum last time) gets full consensus again', async () => {
  const f = fullFrom(['', '203.0.113.7']);
  const a = source('a', ['203.0.113.7']);
  const d = new ConfirmingDetector({ quorum: 2, full: f.full, sources: () => [a] });
  await d.detect([4], signal);
  const r = await d.detect([4], signal);
  assert.equal(f.calls.length, 2);
  assert.equal(r['4']?.address, '203.0.113.7');
});
