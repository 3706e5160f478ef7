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

describe('ddns check in the lab', { skip }, () => {
  test('healthy with no config: ok, single NAT, the public address, dns/reach/hairpin skipped naming their keys', async () => {
    await withLab('healthy', async (lab) => {
      const { code, report } = await check(lab);
      assert.equal(report.ok, true, show(report));
      assert.equal(code, 0);
      assert.equal(report.nat, 'single');
      assert.equal(report.publicAddress['4'], lab.addr.public4);
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
      assert.match(nat.advice ?? '', /ssh -N -R 0\.0\.0\.0:2222:localhost:8022/);
      assert.match(nat.advice ?? '', /autossh/);
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
});
