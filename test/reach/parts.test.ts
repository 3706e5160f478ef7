import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/reach/ratelimit.js';
import { bearerMatches } from '../../src/reach/token.js';
import { parseProbeRequest, parseProbeResponse, parseEchoipResponse } from '../../src/reach/types.js';

test('rate limiter: a burst, then one token per refill interval, per client', () => {
  let now = 0;
  const rl = new RateLimiter({ burst: 3, perMinute: 60, now: () => now });
  assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0]);
  assert.equal(rl.take('a'), 1);
  assert.equal(rl.take('b'), 0, 'another client has its own bucket');
  now += 1000;
  assert.equal(rl.take('a'), 0);
  assert.equal(rl.take('a'), 1);
});

test('rate limiter: the client table is capped', () => {
  const rl = new RateLimiter({ burst: 1, perMinute: 1, maxClients: 100, now: () => 0 });
  for (let i = 0; i < 1000; i++) rl.take(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(rl.size, 100);
});

test('bearer token: exact match only', () => {
  assert.equal(bearerMatches('Bearer abc', 'abc'), true);
  assert.equal(bearerMatches('bearer abc', 'abc'), true);
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Bearer abcd', 'Bearer ab', 'Basic abc', 'abc', 'Bearer abc def']) {
    assert.equal(bearerMatches(h, 'abc'), false, String(h));
  }
});

test('probe requests: good ones parse, the rest say why', () => {
  assert.equal(parseProbeRequest({ protocol: 'tcp', port: 22, mode: 'banner' }).ok, true);
  assert.equal(parseProbeRequest({ protocol: 'udp', port: 51820, mode: 'nonce', nonce: 'a'.repeat(32) }).ok, true);
  assert.equal(parseProbeRequest({ protocol: 'tcp', port: 22, mode: 'banner', hostname: 'home.example.net' }).ok, true);
  for (const bad of [null, [], 'x', { protocol: 'tcp', port: 22 }, { protocol: 'tcp', port: 22.5, mode: 'banner' }, { protocol: 'tcp', port: 22, mode: 'nonce', nonce: 'A'.repeat(32) },
    { protocol: 'tcp', port: 22, mode: 'banner', ip: '1.2.3.4' }, { protocol: 'tcp', port: 22, mode: 'banner', hostname: 'a b' }, { protocol: 'sctp', port: 22, mode: 'banner' }]) {
    const r = parseProbeRequest(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
  }
});

test('probe and echoip responses: validated, strings cleaned and capped', () => {
  const r = parseProbeResponse({ ip: '44.0.0.2', port: 2222, protocol: 'tcp', reachable: true, banner: `SSH-2.0-x\u0007${'y'.repeat(400)}`, ms: 3 });
  assert.equal(r?.banner?.length, 256);
  assert.ok(!r?.banner?.includes('\u0007'));
  assert.equal(parseProbeResponse({ ip: '44.0.0.2', port: 2222, protocol: 'tcp' }), undefined);
  assert.deepEqual(parseEchoipResponse({ ip: '44.0.0.2', port: 80, reachable: false }), { ip: '44.0.0.2', port: 80, reachable: false });
  assert.equal(parseEchoipResponse({ ip: '44.0.0.2', port: '80', reachable: false }), undefined);
});
