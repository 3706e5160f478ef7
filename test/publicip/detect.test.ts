/**
 * detectPublicAddresses against the fixture internet on loopback: the default sources' formats (ipify,
 * Cloudflare trace, AWS, OpenDNS, Google TXT, Cloudflare CH TXT, STUN) agree, and the hostile echo
 * variants never produce an address.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInternet, type Internet } from '../fixtures/internet.js';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { defaultSources } from '../../src/publicip/defaults.js';
import { detectPublicAddresses } from '../../src/publicip/detect.js';
import type { RouterAddressQuery } from '../../src/publicip/sources/router.js';
import { within } from './servers.js';

const PUBLIC = '44.0.0.2';
let net: Internet;

before(async () => {
  net = await startInternet({ mode: 'loopback' });
  // Loopback callers would be echoed as 127.0.0.1 (rightly refused): make every honest service answer PUBLIC.
  const echo = Object.fromEntries(['api.ipify.org', 'www.cloudflare.com', 'checkip.amazonaws.com'].map((h) => [h, { address: PUBLIC }]));
  net.configure({
    echo: { overrides: echo },
    dns: { overrides: { 'myip.opendns.com': { address: PUBLIC }, 'o-o.myaddr.l.google.com': { address: PUBLIC }, 'whoami.cloudflare': { address: PUBLIC } } },
    stun: { overrides: { 'stun.l.google.com': { address: PUBLIC }, 'stun.cloudflare.com': { address: PUBLIC } } },
  });
});
after(async () => { await net.close(); });

/** The default sources (IPv4), pointed at the loopback fixtures. */
function loopbackDefaults(): NonNullable<ConfigInput['ip']>['sources'] {
  const dnsPort = net.dns[0]?.port;
  return defaultSources.filter((s) => s.families.includes(4)).map((s) => {
    if (s.type === 'http') {
      const u = new URL(s.url);
      return { type: 'http' as const, url: `${net.urls[u.hostname]}${u.pathname === '/' ? '' : u.pathname}`, operator: s.operator };
    }
    if (s.type === 'dns') return { type: 'dns' as const, server: `127.0.0.1:${dnsPort}`, name: s.name, qtype: s.qtype, class: s.class, operator: s.operator };
    const name = s.server.replace(/:\d+$/, '');
    return { type: 'stun' as const, server: `127.0.0.1:${net.stun[name]?.[0]?.port}`, operator: s.operator, families: [4 as const] };
  });
}

function config(ip: ConfigInput['ip']): Config {
  return configSchema.parse({ ip });
}

test('every default IPv4 source format reads the fixture answer, and operators agree', async () => {
  const cfg = config({ families: [4], quorum: 4, timeoutMs: 15_000, sources: loopbackDefaults() });
  const r = await within(detectPublicAddresses(cfg, { hedgeMs: 2000 }));
  assert.equal(r['4']?.address, PUBLIC, JSON.stringify(r['4']?.sources));
  assert.equal(r['4']?.verdict, 'agreed');
  assert.ok((r['4']?.operators.length ?? 0) >= 4);
  assert.equal(r['6'], undefined);
});

test('each default source alone reads the fixture answer (quorum 1)', async () => {
  for (const s of loopbackDefaults() ?? []) {
    const cfg = config({ families: [4], quorum: 1, timeoutMs: 15_000, sources: [s] });
    const r = await within(detectPublicAddresses(cfg));
    assert.equal(r['4']?.address, PUBLIC, `${JSON.stringify(s)} → ${JSON.stringify(r['4']?.sources)}`);
  }
});

const hostile = ['html', 'json', 'empty', 'two', 'private', 'cgnat', 'slow', 'huge', 'redirect', 'wrongfamily'];

test('the hostile echo variants together never yield an address, and each says why', async () => {
  const sources = hostile.map((h) => ({ type: 'http' as const, url: net.urls[`${h}.echo.test`] ?? '', operator: h }));
  const cfg = config({ families: [4], quorum: 1, timeoutMs: 15_000, sources });
  const r = await within(detectPublicAddresses(cfg, { hedgeMs: 10 }));
  assert.equal(r['4']?.address, null);
  for (const s of r['4']?.sources ?? []) {
    assert.equal(s.address, null);
    assert.ok(s.error, `${s.id} has an error`);
  }
});

test('two operators agreeing on a CGNAT address publish nothing', async () => {
  const sources = [
    { type: 'http' as const, url: net.urls['cgnat.echo.test'] ?? '', operator: 'one' },
    { type: 'http' as const, url: net.urls['cgnat.echo.test'] ?? '', operator: 'two' },
  ];
  const r = await within(detectPublicAddresses(config({ families: [4], quorum: 2, timeoutMs: 15_000, sources })));
  assert.equal(r['4']?.address, null);
  assert.deepEqual(r['4']?.sources.map((s) => s.rejected), ['100.64.12.34', '100.64.12.34']);
});

test('a disagreeing honest-looking source blocks publication and both addresses are shown', async () => {
  net.configure({ echo: { overrides: { 'plain.echo.test': { address: '44.0.0.99' } } } });
  try {
    const sources = [...(loopbackDefaults() ?? []).slice(0, 2), { type: 'http' as const, url: net.urls['plain.echo.test'] ?? '', operator: 'liar' }];
    const r = await within(detectPublicAddresses(config({ families: [4], quorum: 3, timeoutMs: 15_000, sources })));
    assert.equal(r['4']?.address, null);
    assert.equal(r['4']?.verdict, 'disagreement');
    assert.deepEqual(r['4']?.candidates?.map((c) => c.address).sort(), [PUBLIC, '44.0.0.99']);
  } finally {
    net.configure({ echo: { overrides: { 'plain.echo.test': null } } });
  }
});

test('silent services everywhere: no address, and the call still returns within the timeout', async () => {
  const sources = ['api.ipify.org', 'checkip.amazonaws.com'].map((h) => ({ type: 'http' as const, url: net.urls[h] ?? '', operator: h }));
  net.configure({ echo: { overrides: { 'api.ipify.org': { silence: true }, 'checkip.amazonaws.com': { silence: true } } } });
  try {
    const r = await within(detectPublicAddresses(config({ families: [4], quorum: 2, timeoutMs: 300, sources })));
    assert.equal(r['4']?.address, null);
    assert.deepEqual(r['4']?.sources.map((x) => x.kind), ['timeout', 'timeout'], 'each silent service ended by its own 300 ms timeout');
  } finally {
    net.configure({ echo: { overrides: { 'api.ipify.org': { address: PUBLIC }, 'checkip.amazonaws.com': { address: PUBLIC } } } });
  }
});

test('the router view is reported next to the outside view and never counted', async () => {
  const routerQuery: RouterAddressQuery = async (p) => (p === 'natpmp' ? { ok: false, kind: 'no-address', message: 'NAT-PMP result 3' } : { ok: false, kind: 'unsupported', message: 'no IGD' });
  const cfg = config({ families: [4], quorum: 2, timeoutMs: 15_000, sources: loopbackDefaults() });
  const r = await within(detectPublicAddresses(cfg, { router: true, routerQuery }));
  assert.equal(r['4']?.address, PUBLIC);
  assert.equal(r['4']?.router?.address, null);
  assert.match(r['4']?.router?.error ?? '', /result 3/);
});

test('a router reporting a CGNAT address is shown as such in the router view', async () => {
  const routerQuery: RouterAddressQuery = async (p) => (p === 'upnp' ? { ok: true, address: '100.64.7.2', via: 'upnp' } : { ok: false, kind: 'unsupported', message: 'no NAT-PMP' });
  const cfg = config({ families: [4], quorum: 2, timeoutMs: 15_000, sources: loopbackDefaults() });
  const r = await within(detectPublicAddresses(cfg, { router: true, routerQuery }));
  assert.equal(r['4']?.router?.reported, '100.64.7.2');
  assert.equal(r['4']?.router?.class, 'cgnat');
  assert.equal(r['4']?.address, PUBLIC);
});
