/**
 * `ddns check` in every lab scenario: each gives the verdict it should (issue 7 "Tests (lab)").
 * The check runs as users run it — the CLI in the LAN host, `--json` — against the real router
 * (miniupnpd), DHCP (dnsmasq) and the fixtures' internet.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { withLab, type Lab } from './lab.js';
import { upnpcAdd } from './tools.js';
import { startProbe } from './probe.js';
import type { InternetClient } from '../fixtures/client.js';

const skip = labSkip();

interface Report {
  ok: boolean;
  nat: string;
  publicAddress: { '4': string | null; '6': string | null };
  steps: Array<{ id: string; status: string; summary: string; advice?: string; details?: string[] }>;
}

async function check(lab: Lab, config?: object): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await lab.ddns(['check', '--json'], { ...(config ? { config } : {}), timeoutMs: 30_000 });
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`check --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code ?? -1, report, stderr: r.stderr };
}

function step(rep: Report, id: string): Report['steps'][number] {
  const s = rep.steps.find((x) => x.id === id);
  assert.ok(s, `no step ${id} in ${JSON.stringify(rep.steps.map((x) => x.id))}`);
  return s;
}

function show(rep: Report): string {
  return rep.steps.map((s) => `${s.status} ${s.id}: ${s.summary}${s.details ? `\n    ${s.details.join('\n    ')}` : ''}`).join('\n');
}

const internet = (lab: Lab) => lab.internet as unknown as InternetClient;

describe('ddns check in the lab', { skip }, () => {
  test('healthy with no config: ok, single NAT, the public address, dns/reach/hairpin skipped naming their keys', async () => {
    await withLab('healthy', async (lab) => {
      const { code, report } = await check(lab);
      assert.equal(report.ok, true, show(report));
      assert.equal(code, 0);
      assert.equal(report.nat, 'single');
      assert.equal(report.publicAddress['4'], lab.addr.public4);
      assert.equal(report.publicAddress['6'], lab.addr.public6, 'with no config, a host with global IPv6 is shown its IPv6 view too');
      assert.deepEqual(report.steps.map((s) => s.id), ['lan', 'dhcp', 'router', 'nat', 'publicip', 'dns', 'reach', 'hairpin']);
      for (const id of ['lan', 'dhcp', 'router', 'nat', 'publicip']) assert.equal(step(report, id).status, 'pass', show(report));
      assert.match(step(report, 'lan').summary, new RegExp(`${lab.addr.lan4}/24 → gateway ${lab.addr.router4}`));
      assert.match(step(report, 'router').summary, /UPnP IGD:2.*NAT-PMP.*external address 44\.0\.0\.2/);
      assert.match(step(report, 'dns').summary, /set records/);
      assert.match(step(report, 'reach').summary, /set forwards/);
      assert.match(step(report, 'hairpin').summary, /set forwards/);
      for (const id of ['dns', 'reach', 'hairpin']) assert.equal(step(report, id).status, 'skip');
    });
  });

  test('cgnat: nat cgnat, the check fails, advice offers IPv6, a public IPv4 and a reverse tunnel with the user\'s ports', async () => {
    await withLab('cgnat', async (lab) => {
      const { code, report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }] });
      assert.equal(report.nat, 'cgnat', show(report));
      assert.equal(report.ok, false);
      assert.equal(code, 1);
      const nat = step(report, 'nat');
      assert.equal(nat.status, 'fail');
      assert.match(nat.summary, /100\.64\.7\.1/);
      assert.match(nat.advice ?? '', /IPv6/);
      assert.match(nat.advice ?? '', /public IPv4/);
      assert.match(nat.advice ?? '', /- \{ remotePort: 2222, localPort: 8022 \}/);
      assert.match(nat.advice ?? '', /permitlisten="0\.0\.0\.0:2222"/);
      assert.match(nat.advice ?? '', /`ddns tunnel`/);
      assert.equal(report.publicAddress['4'], lab.addr.public4, 'the outside view is still reported');
      assert.equal(step(report, 'router').status, 'warn');
    });
  });

  test('double-nat: nat double, from the private hop past the router', async () => {
    await withLab('double-nat', async (lab) => {
      const { report } = await check(lab);
      assert.equal(report.nat, 'double', show(report));
      assert.match(step(report, 'nat').summary, /192\.168\.1\.1/);
      assert.match(step(report, 'nat').advice ?? '', /bridge mode/);
    }, { fixtures: false });
  });

  test('upnp-only: router passes via UPnP, NAT-PMP absent', async () => {
    await withLab('upnp-only', async (lab) => {
      const { report } = await check(lab);
      const r = step(report, 'router');
      assert.equal(r.status, 'pass', show(report));
      assert.match(r.summary, /^UPnP IGD:2 WANIPConnection:2; external address 44\.0\.0\.2$/);
      assert.ok(r.details?.some((d) => /^NAT-PMP: /.test(d)), 'NAT-PMP reported as not answering');
      assert.equal(report.nat, 'single');
    }, { fixtures: false });
  });

  test('natpmp-only: router passes via NAT-PMP, no UPnP', async () => {
    await withLab('natpmp-only', async (lab) => {
      const { report } = await check(lab);
      const r = step(report, 'router');
      assert.equal(r.status, 'pass', show(report));
      assert.match(r.summary, /^NAT-PMP.*external address 44\.0\.0\.2$/);
      assert.doesNotMatch(r.summary, /UPnP/);
      assert.equal(report.nat, 'single');
    }, { fixtures: false });
  });

  test('no-portmap: router warns with hand-forwarding advice; NAT still single from the hops', async () => {
    await withLab('no-portmap', async (lab) => {
      const { report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }] });
      const r = step(report, 'router');
      assert.equal(r.status, 'warn', show(report));
      assert.match(r.advice ?? '', new RegExp(`TCP 2222 → ${lab.addr.lan4.replace(/\./g, '\\.')}:8022`));
      assert.equal(report.nat, 'single');
    });
  });

  test('no-static-lease: dhcp fails naming the router forward that still points at the old address', async () => {
    await withLab('no-static-lease', async (lab) => {
      await lab.setStaticLease(lab.addr.expectedLease4);
      assert.equal(lab.addr.lan4, lab.addr.expectedLease4);
      const add = await upnpcAdd(lab, 8022, 18022);
      assert.ok(add.ok, add.raw);
      await lab.setStaticLease(null);
      assert.notEqual(lab.addr.lan4, lab.addr.expectedLease4);
      const { code, report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 18022 }] });
      const d = step(report, 'dhcp');
      assert.equal(d.status, 'fail', show(report));
      assert.match(d.summary, new RegExp(`static lease not working: the router forwards TCP 18022 → ${lab.addr.expectedLease4.replace(/\./g, '\\.')}:8022`));
      assert.match(d.summary, new RegExp(`this host is ${lab.addr.lan4.replace(/\./g, '\\.')}`));
      assert.equal(code, 1);
    }, { fixtures: false });
  });

  test('without lan.expectAddress, an address that changed since the last run fails dhcp (state history)', async () => {
    await withLab('no-static-lease', async (lab) => {
      const first = await check(lab, {});
      assert.equal(step(first.report, 'dhcp').status, 'pass', show(first.report));
      const before = lab.addr.lan4;
      await lab.setStaticLease(lab.addr.expectedLease4);
      const second = await check(lab, {});
      const d = step(second.report, 'dhcp');
      assert.equal(d.status, 'fail', show(second.report));
      assert.match(d.summary, new RegExp(`had ${before.replace(/\./g, '\\.')}.*has ${lab.addr.lan4.replace(/\./g, '\\.')} now`));
    }, { fixtures: false });
  });

  test('healthy with forwards, a record and our own probe: reach passes via the nonce, dns passes, hairpin warns (no loopback)', async () => {
    await withLab('healthy', async (lab) => {
      const probe = await startProbe(lab);
      await internet(lab).setRecord({ name: 'myhome.duckdns.org', type: 'A', content: lab.addr.public4 });
      const add = await upnpcAdd(lab, 8022, 2222);
      assert.ok(add.ok, add.raw);
      const config = {
        forwards: [{ internalPort: 8022, externalPort: 2222, description: 'ssh' }],
        records: [{ provider: 'duckdns', domains: ['myhome'], token: 'lab-duck-token' }],
        lan: { expectAddress: lab.addr.expectedLease4 },
        probe: probe.config,
      };
      const { code, report } = await check(lab, config);
      const reach = step(report, 'reach');
      assert.equal(reach.status, 'pass', show(report));
      assert.match(reach.summary, /nonce reached this host: TCP 44\.0\.0\.2:2222 → port 8022 here \(myhome\.duckdns\.org resolves there from outside\)/);
      assert.equal(step(report, 'dns').status, 'pass', show(report));
      assert.match(step(report, 'dns').summary, /myhome\.duckdns\.org A 44\.0\.0\.2/);
      assert.equal(step(report, 'dhcp').status, 'pass');
      const hairpin = step(report, 'hairpin');
      assert.equal(hairpin.status, 'warn', show(report));
      assert.match(hairpin.advice ?? '', /split DNS/);
      assert.equal(report.ok, true, show(report));
      assert.equal(code, 0);
      assert.equal(report.nat, 'single');
    });
  });

  test('forward removed from the router: reach fails with forwarding advice', async () => {
    await withLab('healthy', async (lab) => {
      const probe = await startProbe(lab);
      const { code, report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }], probe: probe.config });
      const reach = step(report, 'reach');
      assert.equal(reach.status, 'fail', show(report));
      assert.match(reach.summary, /TCP 2222 at 44\.0\.0\.2 is closed from outside/);
      assert.match(reach.advice ?? '', /Forward TCP 2222 → 192\.168\.77\.50:8022/);
      assert.equal(code, 1);
    });
  });

  test('record not updated: dns fails and says to run ddns update', async () => {
    await withLab('healthy', async (lab) => {
      await internet(lab).setRecord({ name: 'myhome.duckdns.org', type: 'A', content: '44.0.0.99' });
      const { code, report } = await check(lab, { records: [{ provider: 'duckdns', domains: ['myhome'], token: 'lab-duck-token' }] });
      const dns = step(report, 'dns');
      assert.equal(dns.status, 'fail', show(report));
      assert.match(dns.summary, /myhome\.duckdns\.org A is 44\.0\.0\.99 at its authoritative server .*but the public address is 44\.0\.0\.2/);
      assert.match(dns.advice ?? '', /ddns update/);
      assert.equal(code, 1);
    });
  });

  test('no probe configured: echoip (ifconfig.co) tests the forward and the output says what that proves', async () => {
    await withLab('healthy', async (lab) => {
      const add = await upnpcAdd(lab, 8022, 2222);
      assert.ok(add.ok, add.raw);
      const { report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }] });
      const reach = step(report, 'reach');
      assert.equal(reach.status, 'pass', show(report));
      assert.match(reach.summary, /ifconfig\.co/);
    });
  });

  test('IPv6: a forward is tested at the host\'s own address too; closed until the router\'s IPv6 firewall lets it in', async () => {
    await withLab('healthy', async (lab) => {
      const add = await upnpcAdd(lab, 8022, 2222);
      assert.ok(add.ok, add.raw);
      const config = { ip: { families: [4, 6] }, forwards: [{ internalPort: 8022, externalPort: 2222 }] };
      const closed = await check(lab, config);
      const r1 = step(closed.report, 'reach');
      assert.equal(r1.status, 'fail', show(closed.report));
      assert.match(r1.summary, /IPv6: TCP 8022 at 2a0d:dd00:77::50 is closed from outside/);
      assert.match(r1.advice ?? '', /Allow inbound IPv6 TCP 8022 to 2a0d:dd00:77::50/);
      assert.equal(closed.report.publicAddress['6'], lab.addr.public6);
      const undo = await lab.openInbound6(8022);
      try {
        const open = await check(lab, config);
        assert.equal(step(open.report, 'reach').status, 'pass', show(open.report));
        assert.match(step(open.report, 'reach').summary, /IPv6: TCP 8022 at 2a0d:dd00:77::50 answers from outside and the connection arrived here/);
      } finally { await undo(); }
    });
  });

  test('UDP forward through our probe: the nonce datagram arrives here and is echoed back through the router', async () => {
    await withLab('healthy', async (lab) => {
      const probe = await startProbe(lab);
      const add = await upnpcAdd(lab, 9053, 19053, 'UDP');
      assert.ok(add.ok, add.raw);
      const { report } = await check(lab, { forwards: [{ internalPort: 9053, externalPort: 19053, protocol: 'udp' }], probe: probe.config });
      const reach = step(report, 'reach');
      assert.equal(reach.status, 'pass', show(report));
      assert.match(reach.summary, /nonce reached this host: UDP 44\.0\.0\.2:19053 → port 9053 here/);
      assert.equal(step(report, 'hairpin').status, 'skip', 'hairpin tests TCP forwards only');
    }, { ipv6: false });
  });

  test('a service on the forward: its first line from outside is compared with the local one', async () => {
    await withLab('healthy', async (lab) => {
      const probe = await startProbe(lab);
      const banner = (port: number, text: string) => lab.spawn('lan', ['socat', `TCP-LISTEN:${port},fork,reuseaddr`, `SYSTEM:echo ${text}; sleep 1`], { stdio: 'ignore' });
      banner(8022, 'SSH-2.0-lab_here');
      banner(8023, 'SSH-2.0-some_other_box');
      for (const p of [8022, 8023]) {
        const deadline = Date.now() + 5000;
        while (!(await lab.exec('lan', ['ss', '-Hlnt', `sport = :${p}`])).stdout.trim()) {
          assert.ok(Date.now() < deadline, `socat on ${p} did not start`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok((await upnpcAdd(lab, 8022, 2222)).ok);
      assert.ok((await upnpcAdd(lab, 8023, 2223)).ok);
      const same = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }], probe: probe.config });
      assert.equal(step(same.report, 'reach').status, 'pass', show(same.report));
      assert.match(step(same.report, 'reach').summary, /same first line as the local service on port 8022 \("SSH-2\.0-lab_here"\)/);
      // The router's 2223 goes to the other service: from outside it does not look like ours on 8022.
      const other = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2223 }], probe: probe.config });
      const r = step(other.report, 'reach');
      assert.equal(r.status, 'fail', show(other.report));
      assert.match(r.summary, /outside "SSH-2\.0-some_other_box", here "SSH-2\.0-lab_here"/);
    }, { ipv6: false });
  });

  test('an IGD:1 router (force_igd_desc_v1): router passes and names IGD:1 WANIPConnection:1', async () => {
    await withLab('healthy', async (lab) => {
      const { report } = await check(lab);
      assert.equal(step(report, 'router').status, 'pass', show(report));
      assert.match(step(report, 'router').summary, /^UPnP IGD:1 WANIPConnection:1, NAT-PMP, PCP; external address 44\.0\.0\.2$/);
    }, { fixtures: false, forceIgdV1: true, ipv6: false });
  });

  test('double-nat where the router learned the upstream address by STUN (it claims 44.0.0.4): still nat double, from the hops; the forward fails from outside', async () => {
    await withLab('double-nat', async (lab) => {
      assert.ok((await upnpcAdd(lab, 8022, 2222)).ok);
      const { report } = await check(lab, { forwards: [{ internalPort: 8022, externalPort: 2222 }] });
      assert.equal(report.nat, 'double', show(report));
      assert.match(step(report, 'nat').summary, new RegExp(`claims the public address ${lab.addr.public4.replace(/\./g, '\\.')}, but the first hop past it, 192\\.168\\.1\\.1`));
      assert.equal(step(report, 'router').status, 'pass', 'the router does claim a public address');
      assert.equal(step(report, 'reach').status, 'fail', show(report));
      assert.match(step(report, 'reach').advice ?? '', /upstream device/);
    }, { routerStun: true });
  });
});
