import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { esc, hops, pageCsp, renderPage, worst } from '../../src/daemon/page.js';
import { startServer } from '../../src/daemon/server.js';
import { Health } from '../../src/daemon/health.js';
import { StatusBook, revision, seedRecords, type StatusDocument } from '../../src/daemon/status.js';
import { configSchema } from '../../src/config/schema.js';
import { recordKey } from '../../src/update/records.js';
import { brokenDoc, healthyDoc } from './status-fixture.js';
import { assertStatusDocument } from './status-schema.js';

const NOW = Date.parse('2026-11-29T23:50:00Z');

function hopTones(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/data-hop="([a-z]+)" data-tone="([a-z]+)"/g)].map((m) => [m[1]!, m[2]!]));
}

test('worst: fail beats warn beats pass; skips count only when nothing ran', () => {
  assert.equal(worst(['pass', 'warn', 'skip']), 'warn');
  assert.equal(worst(['pass', 'fail', 'warn']), 'fail');
  assert.equal(worst(['skip', 'skip']), 'skip');
  assert.equal(worst([]), 'skip');
});

test('the path has six hops in order; a healthy check makes every hop green, hairpin is drawn apart', () => {
  const h = hops(healthyDoc().check);
  assert.deepEqual(h.map((x) => [x.id, x.tone]), [['host', 'pass'], ['router', 'pass'], ['nat', 'pass'], ['internet', 'pass'], ['dns', 'pass'], ['outside', 'pass']]);
  assert.deepEqual(h.map((x) => x.headline), ['192.168.77.50', 'UPnP · NAT-PMP · PCP', 'single NAT', '44.0.0.2', 'records current', 'reachable']);
  const html = renderPage(healthyDoc(), { live: true, now: NOW });
  assert.deepEqual(hopTones(html), { host: 'pass', router: 'pass', nat: 'pass', internet: 'pass', dns: 'pass', outside: 'pass' });
  assert.match(html, /<b>hairpin<\/b>: no NAT loopback/);
  assert.match(html, /The path works/);
});

test('a failing reach turns the outside hop red with its advice, and says where the path breaks', () => {
  const html = renderPage(brokenDoc(), { live: true, now: NOW });
  assert.equal(hopTones(html).outside, 'fail');
  assert.match(html, /class="advice fail">Forward TCP 8022 to 192\.168\.77\.50:2222 on the router/);
  assert.match(html, /The path is broken at: from outside/);
  assert.match(html, /not mapped<\/span><br>the router refused: ConflictInMappingEntry \(718\)/);
});

test('CGNAT: the NAT hop is red; with a working relay the nat step warns and the hop is amber', () => {
  const d = healthyDoc();
  d.check = { ...d.check!, nat: 'cgnat', steps: d.check!.steps.map((s) => s.id === 'nat' ? { ...s, status: 'fail' as const, summary: 'carrier-grade NAT: 100.64.0.1 past the router', advice: 'Ask for a public IPv4' } : s) };
  assert.equal(hopTones(renderPage(d, { live: true, now: NOW })).nat, 'fail');
  assert.equal(hops(d.check).find((h) => h.id === 'nat')?.headline, 'carrier-grade NAT');
  d.check.steps = d.check.steps.map((s) => s.id === 'nat' ? { ...s, status: 'warn' as const } : s);
  d.check.steps.push({ id: 'relay' as never, status: 'pass', summary: 'relay.example.org:2222 arrives here', ms: 5 });
  const tones = hopTones(renderPage(d, { live: true, now: NOW }));
  assert.equal(tones.nat, 'warn');
  assert.equal(tones.outside, 'pass');
});

test('before the first check every hop is grey and the page says it waits', () => {
  const d = healthyDoc();
  d.check = null;
  const html = renderPage(d, { live: true, now: NOW });
  assert.deepEqual(new Set(Object.values(hopTones(html))), new Set(['skip']));
  assert.match(html, /Waiting for the first path check/);
});

test('text from the network is escaped and stripped of control and bidi characters', () => {
  assert.equal(esc('<script>alert("x")</script>&\u0007\u202e'), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
  const d = healthyDoc();
  d.check!.steps[2] = { ...d.check!.steps[2]!, status: 'warn', summary: 'router says <img src=x onerror=alert(1)>', advice: '"><script>bad()</script>' };
  d.records[0]!.name = '<b>evil</b>.example.com';
  const html = renderPage(d, { live: true, now: NOW });
  assert.ok(!/<img|<script>bad|<b>evil/.test(html), 'no markup from data');
  assert.match(html, /router says &lt;img src=x onerror=alert\(1\)&gt;/);
});

test('no external resource: the only script is same-origin /page.js, only live; the style matches the CSP hash', () => {
  const live = renderPage(healthyDoc(), { live: true, now: NOW });
  const file = renderPage(healthyDoc(), { live: false, now: NOW });
  for (const html of [live, file]) {
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no absolute or protocol-relative URL');
    assert.ok(!/ style="/.test(html), 'no inline style attributes (the CSP would block them)');
    assert.ok(!/<form|<iframe|<img|<link/.test(html));
  }
  assert.deepEqual([...live.matchAll(/<script[^>]*>/g)].map((m) => m[0]), ['<script src="/page.js" defer>']);
  assert.equal([...file.matchAll(/<script/g)].length, 0);
  const style = /<style>([\s\S]*?)<\/style>/.exec(live)![1]!;
  const hash = createHash('sha256').update(style).digest('base64');
  assert.match(pageCsp(true), new RegExp(`style-src 'sha256-${hash.replace(/[+/]/g, (c) => `\\${c}`)}'`));
  assert.match(pageCsp(true), /^default-src 'none'; /);
  assert.match(file, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/);
  assert.ok(!pageCsp(false).includes('script-src'));
});

test('the tunnels section: an empty state without tunnels, each tunnel\'s state and forwards with them', () => {
  const d = healthyDoc();
  assert.match(renderPage(d, { live: true, now: NOW }), /class="empty">No tunnels/);
  d.tunnels = [{ relay: 'vps.example.org:22', state: 'down', summary: 'remote port forwarding failed', forwards: ['vps.example.org:2222 → 127.0.0.1:22'] }];
  const html = renderPage(d, { live: true, now: NOW });
  assert.match(html, /vps\.example\.org:22<\/td><td><span class="bad">down<\/span><br>remote port forwarding failed/);
  assert.match(html, /vps\.example\.org:2222 → 127\.0\.0\.1:22/);
});

test('revision moves when what the page shows moves, not when only the time of the document does', () => {
  const a = healthyDoc();
  const b = { ...healthyDoc(), generatedAt: '2030-01-01T00:00:00.000Z', nextCheckAt: null };
  assert.equal(revision(a), revision(b));
  assert.notEqual(revision(a), revision(brokenDoc()));
});

test('StatusBook: records seeded from the state file (addresses, history); cycles carry the state\'s history; forwards with leases and problems', () => {
  const book = new StatusBook();
  const h = (at: number, from: string | null, to: string) => ({ at: new Date(at).toISOString(), family: 4 as const, from, to });
  const earlier = [h(500, '44.0.0.8', '44.0.0.9'), h(100, null, '44.0.0.8')];
  book.seed([{ key: 'k1', provider: 'duckdns', name: 'labhome.duckdns.org', published: { '4': { address: '44.0.0.9', at: '2026-11-28T10:00:00.000Z' } }, history: earlier }]);
  // Before any cycle: where the record stood and how it got there, from the state file alone.
  const seeded = book.document({ now: 900, check: null, tunnels: [], forwards: [], mappings: {} }).records[0]!;
  assert.equal(seeded.addresses['4']?.address, '44.0.0.9');
  assert.deepEqual(seeded.history, earlier);
  assert.equal(seeded.result, undefined);
  const cyc = (address: string, result: 'updated' | 'current', at: number, history?: ReturnType<typeof h>[]) => book.cycle({ reasons: ['change'], startedAt: at, ms: 1, families: [{ family: 4, address }], records: [{ key: 'k1', provider: 'duckdns', name: 'labhome.duckdns.org', result, addresses: { 4: address }, ...(history ? { history } : {}) }] }, at);
  cyc('44.0.0.9', 'current', 1000, earlier);
  const moved = [h(1990, '44.0.0.9', '44.0.0.2'), ...earlier];
  cyc('44.0.0.2', 'updated', 2000, moved);
  cyc('44.0.0.2', 'current', 2500); // a cycle whose state could not be read keeps the history it had
  book.forward('tcp/8022', 'the router refused');
  const doc = book.document({
    now: 4000, check: null, tunnels: [],
    forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp', description: 'ssh', lease: 7200 } as never, { internalPort: 80, protocol: 'tcp', description: 'web', lease: 60 } as never],
    mappings: { 'tcp/80': { via: 'natpmp', internalAddress: '192.168.77.50', internalPort: 80, externalPort: 80, leaseSeconds: 60, at: new Date(3000).toISOString() } },
  });
  const r = doc.records[0]!;
  assert.equal(r.addresses['4']?.address, '44.0.0.2');
  assert.equal(r.addresses['4']?.since, new Date(1990).toISOString(), 'since: when the state file says the address changed');
  assert.equal(r.result, 'current');
  assert.deepEqual(r.history.map((x) => [x.from, x.to]), [['44.0.0.9', '44.0.0.2'], ['44.0.0.8', '44.0.0.9'], [null, '44.0.0.8']]);
  assert.deepEqual(doc.forwards.map((f) => [f.key, f.mapping?.expiresAt ?? null, f.problem ?? null]), [['tcp/8022', null, 'the router refused'], ['tcp/80', new Date(63_000).toISOString(), null]]);
});

test('seedRecords: each configured record by its state key and DNS names, with the state file\'s addresses and history', () => {
  const config = configSchema.parse({
    records: [
      { provider: 'duckdns', domains: ['labhome'], token: 'tok-0123456789abcdef' },
      { provider: 'cloudflare', zone: 'example.com', name: 'home.example.com', apiToken: 'cf-0123456789abcdefghijkl', create: true },
    ],
  });
  const duckKey = recordKey(config.records[0]!);
  const change = { at: '2026-11-28T10:00:00.000Z', family: 4 as const, from: null, to: '44.0.0.9' };
  const seeds = seedRecords(config, { records: { [duckKey]: { published: { '4': { address: '44.0.0.9', at: change.at } }, history: [change] } } });
  assert.deepEqual(seeds.map((x) => [x.provider, x.name, x.history.length, x.published['4']?.address ?? null]), [
    ['duckdns', 'labhome.duckdns.org', 1, '44.0.0.9'], ['cloudflare', 'home.example.com', 0, null],
  ]);
  assert.equal(seeds[0]?.key, duckKey);
  assert.ok(!JSON.stringify(seeds).includes('tok-0123456789abcdef'), 'no secret in a seed');
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the server: / is the page with its CSP and no-frame headers, /status.json the document with its revision, /page.js the script', async () => {
  let doc: StatusDocument = healthyDoc();
  const r = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => new Health(0).readiness(), status: () => doc, now: () => NOW });
  assert.ok(r.ok);
  const base = `http://127.0.0.1:${r.server.address.port}`;
  try {
    const page = await get(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['content-security-policy'], pageCsp(true));
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(page.body, new RegExp(`data-revision="${revision(doc)}"`));
    const json = await get(`${base}/status.json`);
    const parsed = JSON.parse(json.body) as StatusDocument;
    assert.equal(parsed.revision, revision(doc));
    doc = brokenDoc();
    assert.notEqual((JSON.parse((await get(`${base}/status.json`)).body) as StatusDocument).revision, parsed.revision);
    const js = await get(`${base}/page.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(js.body, /fetch\('\/status\.json'/);
  } finally {
    await r.server.close();
  }
});

test('the page routes answer a foreign Host with 421 and nothing of the page (DNS rebinding); allowed Hosts get the page', async () => {
  const doc = healthyDoc();
  const r = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => new Health(0).readiness(), status: () => doc, now: () => NOW, allowHosts: ['ddns.home.arpa'] });
  assert.ok(r.ok);
  const port = r.server.address.port;
  const base = `http://127.0.0.1:${port}`;
  const name = doc.records[0]?.name ?? '';
  assert.ok(name.length > 0, 'the fixture has a record name to look for');
  try {
    for (const path of ['/', '/page.js', '/status.json']) {
      for (const host of ['evil.example', `rebind.attacker.example:${port}`, 'ddns.home.arpa.evil.example', '127.0.0.1.nip.io']) {
        const res = await get(`${base}${path}`, { host });
        assert.equal(res.status, 421, `${path} with Host ${host}`);
        assert.ok(!res.body.includes(name) && !res.body.includes('fetch('), `${path} with Host ${host} leaked the page: ${res.body.slice(0, 80)}`);
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'ddns.home.arpa:9876']) {
        assert.equal((await get(`${base}${path}`, { host })).status, 200, `${path} with Host ${host}`);
      }
    }
  } finally {
    await r.server.close();
  }
});

test('the /status.json contract: the documents the server sends pass the strict schema; an unknown field, a bad time or a bad address does not', async () => {
  for (const doc of [healthyDoc(), brokenDoc()]) {
    const r = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => new Health(0).readiness(), status: () => doc, now: () => NOW });
    assert.ok(r.ok);
    try {
      assertStatusDocument(JSON.parse((await get(`http://127.0.0.1:${r.server.address.port}/status.json`)).body));
    } finally { await r.server.close(); }
  }
  const good = { ...healthyDoc(), revision: revision(healthyDoc()) };
  assertStatusDocument(good);
  const bad: Array<[string, (d: typeof good) => unknown]> = [
    ['a secret-looking extra field on a record', (d) => ({ ...d, records: [{ ...d.records[0], token: 'x' }] })],
    ['an extra top-level field', (d) => ({ ...d, config: {} })],
    ['a time that is not ISO', (d) => ({ ...d, generatedAt: 'yesterday' })],
    ['an address that is not one', (d) => ({ ...d, records: [{ ...d.records[0], addresses: { 4: { address: 'home', since: d.generatedAt } } }] })],
    ['an unknown step', (d) => ({ ...d, check: { ...d.check, steps: [{ id: 'ping', status: 'pass', summary: '', ms: 1 }] } })],
    ['no revision', (d) => ({ ...d, revision: undefined })],
  ];
  for (const [what, make] of bad) assert.throws(() => assertStatusDocument(make(good)), /does not match its contract/, what);
});
