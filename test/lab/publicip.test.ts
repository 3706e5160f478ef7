/**
 * `ddns ip` and the public-IP watcher in the lab, with the DEFAULT sources (the lab maps their
 * hostnames to its fixtures): the LAN host's answer is the router's WAN address; behind CGNAT the
 * router's report (none) and the outside view differ and both are shown; a WAN address change is seen
 * through the router's NAT-PMP announcement (the watcher's only other way is a 10-minute interval; how
 * fast: bench/peers.ts, the "router announces" rows).
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import { labSkip } from './gate.js';
import { REPO_ROOT, withLab, type Lab } from './lab.js';
import type { PublicIpReport } from '../../src/publicip/detect.js';

const skip = labSkip();

async function ip(lab: Lab, args: string[] = []): Promise<{ code: number | null; report: PublicIpReport; stderr: string }> {
  const r = await lab.ddns(['--json', 'ip', ...args], { timeoutMs: 30_000 });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as PublicIpReport, stderr: r.stderr };
  } catch {
    throw new Error(`ip --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

describe('ddns ip in the lab', { skip }, () => {
  test('healthy: the default sources agree on the router\'s WAN address (IPv4) and the routed IPv6 address', async () => {
    await withLab('healthy', async (lab) => {
      const { code, report, stderr } = await ip(lab, ['--family', 'all']);
      assert.equal(code, 0, stderr);
      assert.equal(report['4']?.address, lab.addr.public4, JSON.stringify(report['4']?.sources, null, 1));
      assert.equal(report['4']?.verdict, 'agreed');
      assert.ok((report['4']?.operators.length ?? 0) >= 2);
      assert.equal(report['4']?.router?.address, lab.addr.routerWan4, 'the router reports the same WAN address');
      assert.equal(report['6']?.address, lab.addr.public6);
      // The contract's fields for every source.
      for (const s of report['4']?.sources ?? []) {
        assert.ok('id' in s && 'address' in s && 'error' in s && 'ms' in s);
      }
      const human = await lab.ddns(['ip'], { timeoutMs: 30_000 });
      assert.equal(human.code, 0);
      assert.match(human.stdout, new RegExp(`IPv4\\s+${lab.addr.public4.replace(/\./g, '\\.')}`));
    });
  });

  test('healthy but every echo service is a captive portal and DNS/STUN are silent: no address, exit 1', async () => {
    await withLab('healthy', async (lab) => {
      const net = lab.internet as unknown as { configure(p: object): Promise<void> } | undefined;
      assert.ok(net, 'the lab runs its fixtures');
      const portal = { body: '<html><body>Please log in to continue. Your IP: 44.0.0.2</body></html>' };
      await net.configure({
        echo: { overrides: Object.fromEntries(['api.ipify.org', 'www.cloudflare.com', 'checkip.amazonaws.com'].map((h) => [h, portal])) },
        dns: { overrides: { 'myip.opendns.com': { silence: true }, 'o-o.myaddr.l.google.com': { silence: true }, 'whoami.cloudflare': { silence: true } } },
        stun: { overrides: { 'stun.l.google.com': { silence: true }, 'stun.cloudflare.com': { silence: true } } },
      });
      const t0 = Date.now();
      const { code, report } = await ip(lab, ['--no-router']);
      assert.equal(code, 1);
      assert.equal(report['4']?.address, null);
      assert.ok(Date.now() - t0 < 15_000);
      for (const s of report['4']?.sources ?? []) assert.equal(s.address, null);
    });
  });

  test('healthy: router sources (NAT-PMP, UPnP) vote with the outside, but alone never publish', async () => {
    // No PCP here: a PCP MAP of the discard port (how src/portmap asks PCP for the address) sends the
    // lab's miniupnpd 2.3.1 into a busy loop ("permission rule 1 matched : port mapping rejected").
    await withLab('healthy', async (lab) => {
      const both = await lab.ddns(['--json', 'ip', '--no-router'], {
        config: { ip: { quorum: 2, sources: [{ type: 'natpmp' }, { type: 'upnp' }, { type: 'http', url: 'https://api.ipify.org' }] } }, timeoutMs: 30_000,
      });
      const r1 = JSON.parse(both.stdout) as PublicIpReport;
      assert.equal(both.code, 0, both.stderr);
      assert.equal(r1['4']?.address, lab.addr.public4);
      assert.ok(r1['4']?.agreeing.includes('http:api.ipify.org'));
      assert.ok(r1['4']?.agreeing.some((id) => ['natpmp', 'upnp'].includes(id)), JSON.stringify(r1['4']?.sources));
      const alone = await lab.ddns(['--json', 'ip', '--no-router'], { config: { ip: { quorum: 1, sources: [{ type: 'natpmp' }, { type: 'upnp' }] } }, timeoutMs: 30_000 });
      const r2 = JSON.parse(alone.stdout) as PublicIpReport;
      assert.equal(alone.code, 1);
      assert.equal(r2['4']?.address, null);
      assert.ok(r2['4']?.sources.some((s) => s.address === lab.addr.public4), 'the router did answer');
      assert.match(r2['4']?.message ?? '', /router/);
    });
  });

  test('cgnat: the router reports no public address, the outside sees the CGNAT pool address; both shown', async () => {
    await withLab('cgnat', async (lab) => {
      const { code, report, stderr } = await ip(lab);
      assert.equal(code, 0, stderr);
      assert.equal(report['4']?.address, lab.addr.public4);
      assert.notEqual(report['4']?.address, lab.addr.routerWan4);
      const router = report['4']?.router;
      assert.ok(router, 'the router view is reported');
      assert.equal(router.address, null);
      assert.ok(router.error, 'and says why it has no address');
      const human = await lab.ddns(['ip'], { timeoutMs: 30_000 });
      assert.match(human.stdout, /router \(\w+\): no address/);
      assert.match(human.stdout, /behind another NAT/);
    });
  });

  test('watcher: a WAN address change is seen through the NAT-PMP announcement', async () => {
    await withLab('healthy', async (lab) => {
      const child = lab.spawn('lan', [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test/publicip/watch-main.ts')], { env: lab.ddnsEnv });
      const events: Array<Record<string, unknown>> = [];
      const waiters: Array<() => void> = [];
      assert.ok(child.stdout);
      createInterface({ input: child.stdout }).on('line', (l) => {
        try { events.push(JSON.parse(l) as Record<string, unknown>); } catch { /* not ours */ }
        for (const w of waiters.splice(0)) w();
      });
      const waitFor = (pred: (e: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no matching event within ${ms} ms: ${JSON.stringify(events)}`)), ms);
          const check = (): void => {
            const e = events.find(pred);
            if (e) { clearTimeout(timer); resolve(e); } else waiters.push(check);
          };
          check();
        });
      try {
        const started = await waitFor((e) => e.event === 'started', 20_000);
        assert.equal(started.listening, true, 'the watcher listens for announcements on 224.0.0.1:5350');
        // The bounds are hang guards: with router polls off and a 10-minute interval, only the
        // announcement can bring the change within the test, and the event says it did.
        await waitFor((e) => e.event === 'change' && e.to === lab.addr.public4, 60_000);
        const t0 = Date.now();
        await lab.setRouterWan('44.0.0.5');
        const change = await waitFor((e) => e.event === 'change' && e.to === '44.0.0.5', 120_000);
        assert.equal(change.trigger, 'announcement');
        assert.equal(change.from, '44.0.0.2');
        process.stderr.write(`# WAN change → watcher event: ${Date.now() - t0} ms\n`);
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});
