/**
 * A program ddns runs that is not installed is named, with the package to install — never a silent
 * `unknown`. tracepath (the hops past the router, for the nat verdict) is the one check cannot do without
 * when the router hides its WAN address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRACEPATH, tracepathHops } from '../../src/check/io/hops.js';
import { natStep } from '../../src/check/steps/nat.js';
import type { CheckDeps } from '../../src/check/deps.js';
import type { Facts, ProtocolProbe } from '../../src/check/facts.js';
import type { StepContext } from '../../src/check/step.js';
import { configSchema } from '../../src/config/schema.js';

test('tracepathHops reports a tracer that is not on PATH as missing, with its Debian package', async () => {
  const r = await tracepathHops({ target: '127.0.0.1', gateway: '127.0.0.1', signal: AbortSignal.timeout(5000), program: 'ddns-test-no-such-tracepath' });
  assert.deepEqual(r, { hops: [], missing: { program: 'tracepath', debianPackage: 'iputils-tracepath' } });
  assert.equal(TRACEPATH.debianPackage, 'iputils-tracepath');
});

/** A router that answers but hides its WAN address (CGNAT or double NAT): only the hops can tell which. */
function hiddenWanFacts(hops: Facts['hops']): Facts {
  const hidden: ProtocolProbe = { kind: 'answered', detail: 'NAT-PMP', externalAddress: '', noPublicAddress: true } as ProtocolProbe;
  const none = { kind: 'silent' } as unknown as ProtocolProbe;
  return {
    lan: { interface: 'eth0', gateway: '192.168.77.1', address4: '192.168.77.50', prefixLength4: 24 },
    router: { gateway: '192.168.77.1', upnp: none, natpmp: hidden, pcp: none, pcpAddressMismatch: false },
    ...(hops ? { hops } : {}),
  } as Facts;
}

function ctx(facts: Facts, hops: CheckDeps['hops']): StepContext {
  return {
    config: configSchema.parse({ state: '/nonexistent/state.json' }), configured: false, facts,
    deps: { hops } as CheckDeps, signal: AbortSignal.timeout(5000), settled: () => Promise.resolve(),
  };
}

test('nat: with tracepath missing the step says so and what to install, instead of a bare unknown', async () => {
  let asked = 0;
  const out = await natStep.run(ctx(hiddenWanFacts({ hops: [], missing: { ...TRACEPATH } }), async () => { asked++; return { hops: [] }; }));
  assert.equal(out.status, 'warn');
  assert.match(out.summary, /^unknown: .*tracepath is not installed/);
  assert.match(out.advice ?? '', /apt-get install iputils-tracepath/);
  assert.equal(asked, 0, 'a tracer known to be missing is not asked again');

  // Found missing only when nat traces for itself.
  const late = await natStep.run(ctx(hiddenWanFacts(undefined), async () => ({ hops: [], missing: { ...TRACEPATH } })));
  assert.match(late.advice ?? '', /apt-get install iputils-tracepath/);
});

test('nat: with tracepath present the same evidence is decided by the hops (no install advice)', async () => {
  const out = await natStep.run(ctx(hiddenWanFacts({ hops: ['100.64.7.1', '44.0.0.3'] }), async () => ({ hops: [] })));
  assert.match(out.summary, /carrier-grade NAT/);
  assert.doesNotMatch(out.advice ?? '', /iputils-tracepath/);
});

test('dhcp: with `ip` missing the step names it and its package where it says how the address was assigned', async () => {
  const { evaluateDhcp } = await import('../../src/check/steps/dhcp.js');
  const { IP } = await import('../../src/check/io/lan.js');
  const lan = { interface: 'eth0', gateway: '192.168.77.1', address4: '192.168.77.50', prefixLength4: 24 };
  const out = evaluateDhcp({ lan: { ...lan, missing: { ...IP } }, history: [], forwards: [] });
  assert.match(out.details?.join('\n') ?? '', /ip is not installed \(apt-get install iproute2\)/);
  assert.doesNotMatch(evaluateDhcp({ lan, history: [], forwards: [] }).details?.join('\n') ?? '', /not installed/);
});
