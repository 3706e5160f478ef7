/**
 * The status page in a real browser (issue 17): Debian's Chromium, driven by playwright-core, looks at
 * `ddns run`'s page in the lab as a person on the LAN host would — the browser runs inside the LAN
 * namespace (a wrapper puts /usr/bin/chromium there) and opens http://127.0.0.1:9876/.
 *
 *   healthy: every hop green, the record's name and the public address on the page;
 *   the forward's DNAT rule deleted on the router: the outside hop turns red with its advice — swapped in
 *     by the page's own script (/page.js polling /status.json), without a reload. The forward is kept by
 *     NAT-PMP, which cannot tell that a mapping is gone: upkeep restores it only at its renewal (half the
 *     one-hour lease), so nothing races the red page. A SIGHUP makes the daemon check again (5 s later);
 *   cgnat: the NAT hop is red (or amber) and names carrier-grade NAT.
 * On every page: no console error, no Content-Security-Policy violation. Screenshots go to
 * test-output/screenshots/ (the paths are printed) for a person to look at.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assertStatusDocument } from '../daemon/status-schema.js';
import { labSkip } from './gate.js';
import { REPO_ROOT, startLab, type Lab } from './lab.js';
import { lanGet } from './lan-http.js';
import { startProbe } from './probe.js';
import { waitFor } from './sh.js';

const skip = labSkip();

const LISTEN = '127.0.0.1:9876';
const PAGE = `http://${LISTEN}/`;
const DUCK_TOKEN = 'lab-duck-token-page-7f3e21';
const SHOTS = join(REPO_ROOT, 'test-output', 'screenshots');
const HOPS = ['host', 'router', 'nat', 'internet', 'dns', 'outside'] as const;
/** Hang guards only: every wait below ends on an event (a check finished, the page changed). */
const GUARD_MS = 120_000;

/** GET on the daemon's server, from inside the LAN host. */
const http = (lab: Lab, path: string) => lanGet(lab, LISTEN, path);

/** Chromium as a process of the lab's LAN host: playwright talks to it over the inherited pipe. */
async function browserIn(lab: Lab): Promise<Browser> {
  const wrapper = join(lab.dir, 'chromium-in-lan.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.hosts.lan} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    timeout: 60_000,
  });
}

interface Watched {
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  /** Main-frame navigations (1 = the first load; more = a reload). */
  navigations(): number;
}

async function openPage(browser: Browser, viewport = { width: 1366, height: 900 }): Promise<Watched> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  let navigations = 0;
  // Injected by the browser itself (not an inline script of the page): the page's CSP does not apply.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', function (e) { console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)')); });",
  });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  return { page, problems, navigations: () => navigations };
}

async function tones(page: Page): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const id of HOPS) out[id] = await page.getAttribute(`li.hop[data-hop="${id}"]`, 'data-tone');
  return out;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stderr.write(`# screenshot: ${path}\n`);
}

function startDaemon(lab: Lab, config: object): { child: ChildProcess; log: () => string } {
  let stderr = '';
  const child = lab.spawn('lan', lab.ddnsArgv(['run'], { config }), { env: lab.ddnsEnv });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => { stderr += c; });
  child.stdout?.resume();
  return { child, log: () => stderr };
}

/** Waits until the daemon has finished a path check whose outside step ran (not the waiting state). */
async function checked(lab: Lab, log: () => string, since = ''): Promise<ReturnType<typeof assertStatusDocument>> {
  return waitFor('a finished path check', GUARD_MS, async () => {
    const r = await http(lab, '/status.json');
    if (r.status !== 200) return undefined;
    const doc = assertStatusDocument(JSON.parse(r.body));
    return doc.check && doc.check.at !== since ? doc : undefined;
  }).catch((err: unknown) => { throw new Error(`${String(err)}\n${log().split('\n').slice(-20).join('\n')}`); });
}

// One browser at a time (two shared cores): each scenario's browser lives in that lab's LAN namespace,
// so the healthy one is closed, with its lab, before the cgnat lab starts.
describe('the status page in Chromium', { skip }, () => {
  describe('healthy, then the forward removed on the router', () => {
    let lab: Lab;
    let browser: Browser | undefined;
    let daemon: ReturnType<typeof startDaemon>;
    let watched: Watched | undefined;

    after(async () => {
      await browser?.close();
      const d = daemon as ReturnType<typeof startDaemon> | undefined;
      if (d?.child.exitCode === null) d.child.kill('SIGKILL');
      await (lab as Lab | undefined)?.down();
    });

    before(async () => {
      lab = await startLab('healthy', { ipv6: false });
      await lab.internet?.configure({ duckdns: { tokens: { [DUCK_TOKEN]: ['labhome'] } } });
      const probe = await startProbe(lab);
      await lab.listen('lan', 2222);
      daemon = startDaemon(lab, {
        ip: { families: [4] },
        records: [{ provider: 'duckdns', domains: ['labhome'], token: DUCK_TOKEN }],
        forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp', via: 'natpmp', lease: 3600, description: 'ssh' }],
        lan: { expectAddress: lab.addr.expectedLease4 },
        probe: probe.config,
        daemon: { listen: LISTEN, interval: 300 },
        state: join(lab.dir, 'page-state.json'),
      });
      browser = await browserIn(lab);
    });

    test('healthy: every hop green, the record name and the public address on the page, no CSP violation', async () => {
      await waitFor('readyz 200', GUARD_MS, async () => ((await http(lab, '/readyz')).status === 200 ? true : undefined))
        .catch((err: unknown) => { throw new Error(`${String(err)}\n${daemon.log()}`); });
      const doc = await checked(lab, daemon.log);
      assert.equal(doc.check?.ok, true, JSON.stringify(doc.check?.steps, null, 1));
      watched = await openPage(browser!);
      const { page } = watched;
      await page.goto(PAGE);
      assert.deepEqual(await tones(page), Object.fromEntries(HOPS.map((h) => [h, 'pass'])));
      const text = await page.innerText('main');
      assert.match(text, /labhome\.duckdns\.org/);
      assert.match(text, new RegExp(lab.addr.public4.replace(/\./g, '\\.')));
      assert.match(await page.innerText('li.hop[data-hop="internet"] .headline'), new RegExp(`^${lab.addr.public4.replace(/\./g, '\\.')}$`));
      assert.match(await page.innerText('li.hop[data-hop="outside"]'), /reachable/);
      assert.match(await page.innerText('.verdict'), /The path works/);
      assert.equal(await page.locator('.advice').count(), 0, 'no advice on a green path');
      // The page's own script runs (the CSP lets /page.js in): its first poll marks the document.
      await page.waitForSelector('html[data-refreshed]', { state: 'attached', timeout: GUARD_MS });
      assert.match(await page.innerText('header .meta'), /ago/, 'the script turned times into "… ago"');
      await shot(page, 'page-healthy');
      const phone = await openPage(browser!, { width: 390, height: 844 });
      await phone.page.goto(PAGE);
      const boxes = await Promise.all(['host', 'outside'].map((id) => phone.page.locator(`li.hop[data-hop="${id}"]`).boundingBox()));
      assert.ok(boxes[0] && boxes[1] && boxes[1].y > boxes[0].y + boxes[0].height, 'on a phone the hops stack top to bottom');
      await shot(phone.page, 'page-healthy-phone');
      assert.deepEqual([...watched.problems, ...phone.problems], []);
      await phone.page.context().close();
    });

    test('the forward\'s DNAT rule deleted on the router: the open page turns the outside hop red with its advice, without a reload', async () => {
      assert.ok(watched, 'the healthy test opened the page');
      const { page } = watched;
      const before = (await checked(lab, daemon.log)).check?.at ?? '';
      const rules = await lab.exec('rtr', ['nft', 'list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']);
      assert.match(rules.stdout, /dport 8022 .*dnat/, `no DNAT rule for our forward on the router:\n${rules.stdout}`);
      await lab.exec('rtr', ['nft', 'flush', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']);
      const t0 = Date.now();
      const gone = await lab.connectFromInternet(lab.addr.public4, 8022, { send: 'x', timeoutMs: 1500 });
      assert.equal(gone.ok, false, 'the forward still answers from outside');
      daemon.child.kill('SIGHUP');
      const doc = await checked(lab, daemon.log, before);
      const reach = doc.check?.steps.find((s) => s.id === 'reach');
      assert.equal(reach?.status, 'fail', JSON.stringify(doc.check?.steps, null, 1));
      // The page notices by itself (its poll of /status.json sees the new revision and swaps <main>).
      const tCheck = Date.now();
      await page.waitForSelector('li.hop[data-hop="outside"][data-tone="fail"]', { timeout: GUARD_MS });
      // A figure, not a limit: the check waits 5 s after the SIGHUP, the page polls every 10 s.
      process.stderr.write(`# forward removed → daemon's check failed: ${tCheck - t0} ms; → the open page red: ${Date.now() - t0} ms\n`);
      assert.equal(watched.navigations(), 1, 'the page was reloaded instead of refreshed by its script');
      const t = await tones(page);
      assert.equal(t.outside, 'fail');
      for (const id of ['host', 'router', 'nat', 'internet', 'dns'] as const) assert.equal(t[id], 'pass', `${id} changed too: ${JSON.stringify(t)}`);
      const advice = await page.innerText('li.hop[data-hop="outside"] .advice');
      assert.match(advice, /Forward TCP 8022 → 192\.168\.77\.50:2222/);
      assert.match(await page.innerText('li.hop[data-hop="outside"]'), /not reachable/);
      assert.match(await page.innerText('.verdict'), /broken at: from outside/);
      assert.match(await page.title(), /Broken/);
      await shot(page, 'page-forward-removed');
      assert.deepEqual(watched.problems, []);
      const html = await page.content();
      assert.ok(!html.includes(DUCK_TOKEN) && !html.includes('lab-probe-token'), 'a secret is on the page');
    });
  });

  describe('cgnat', () => {
    let lab: Lab | undefined;
    let browser: Browser | undefined;
    let daemon: ReturnType<typeof startDaemon> | undefined;

    after(async () => {
      await browser?.close();
      if (daemon?.child.exitCode === null) daemon.child.kill('SIGKILL');
      await lab?.down();
    });

    test('the NAT hop is red or amber and names carrier-grade NAT', async () => {
      lab = await startLab('cgnat');
      await lab.internet?.configure({ duckdns: { tokens: { [DUCK_TOKEN]: ['labhome'] } } });
      const d = startDaemon(lab, {
        ip: { families: [4] },
        records: [{ provider: 'duckdns', domains: ['labhome'], token: DUCK_TOKEN }],
        forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp' }],
        daemon: { listen: LISTEN, interval: 300 },
        state: join(lab.dir, 'page-state.json'),
      });
      daemon = d;
      const doc = await checked(lab, d.log);
      assert.equal(doc.check?.nat, 'cgnat', JSON.stringify(doc.check?.steps, null, 1));
      browser = await browserIn(lab);
      const w = await openPage(browser);
      await w.page.goto(PAGE);
      const nat = await w.page.getAttribute('li.hop[data-hop="nat"]', 'data-tone');
      assert.ok(nat === 'fail' || nat === 'warn', `NAT hop is ${nat}`);
      assert.match(await w.page.innerText('li.hop[data-hop="nat"] .headline'), /carrier-grade NAT/);
      assert.match(await w.page.innerText('li.hop[data-hop="nat"] .advice'), /IPv6|tunnel|public IPv4/);
      assert.match(await w.page.innerText('.verdict'), /broken at: nat|warnings at: .*nat/i);
      await shot(w.page, 'page-cgnat');
      assert.deepEqual(w.problems, []);
    });
  });
});
