/**
 * The lab itself, in the healthy scenario: port mappings made by the reference clients work end to end,
 * the LAN stays closed otherwise, and the controller's network changes (reboot, WAN change, lease
 * change) do what they say.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { miniupnpdConf } from './configs.js';
import { startLab, withLab, type Lab } from './lab.js';
import { listNamespaces, newRunId, ownerOf, parseNetnsList } from './netns.js';
import { natpmpc, parseNatpmpc, parseUpnpc, upnpcAdd, upnpcStatus } from './tools.js';
import { planFor, scenarioNames } from './topology.js';
import { classifyAddress } from '../../src/net/address.js';

const skip = labSkip();

describe('healthy lab', { skip }, () => {
  let lab: Lab;
  before(async () => { lab = await startLab('healthy', { fixtures: false }); });
  after(async () => { await lab?.down(); });

  test('the LAN host holds the static lease and a global IPv6 address', async () => {
    assert.equal(lab.addr.lan4, lab.addr.expectedLease4);
    const r = await lab.exec('lan', ['ip', '-o', 'addr', 'show', 'dev', lab.lanIf]);
    assert.match(r.stdout, new RegExp(`inet ${lab.addr.lan4.replaceAll('.', '\\.')}/24`));
    assert.ok(lab.addr.lan6);
    assert.ok(r.stdout.includes(`inet6 ${lab.addr.lan6}/64`), r.stdout);
  });

  test('upnpc finds the IGD and reads the router WAN address as the external address', async () => {
    const s = await upnpcStatus(lab);
    assert.equal(s.desc, `http://${lab.addr.router4}:5000/rootDesc.xml`, s.raw);
    assert.equal(s.validIgd, true, s.raw);
    assert.equal(s.externalIp, lab.addr.public4, s.raw);
  });

  test('a mapping made with upnpc from the LAN host is reachable from the internet; the LAN address is not', async () => {
    const echo = await lab.listen('lan', 2222);
    try {
      const before = await lab.connectFromInternet(lab.addr.public4, 8022, { send: 'before' });
      assert.equal(before.ok, false, 'nothing answers on the public port before the mapping');
      const add = await upnpcAdd(lab, 2222, 8022);
      assert.equal(add.ok, true, add.raw);
      const via = await lab.connectFromInternet(lab.addr.public4, 8022, { send: 'through the mapping' });
      assert.deepEqual(via, { ok: true, data: 'through the mapping' });
      const direct = await lab.connectFromInternet(lab.addr.lan4, 2222, { send: 'direct' });
      assert.equal(direct.ok, false);
      assert.match(direct.error ?? '', /unreachable/i);
    } finally {
      await echo.close();
    }
  });

  test('a mapping made with natpmpc is reachable from the internet', async () => {
    const echo = await lab.listen('lan', 2323, { proto: 'udp' });
    try {
      const r = await natpmpc(lab, { publicPort: 9023, privatePort: 2323, proto: 'udp' });
      assert.equal(r.publicIp, lab.addr.public4, r.raw);
      assert.deepEqual(r.mapped, { publicPort: 9023, privatePort: 2323, lifetime: 3600 }, r.raw);
      const via = await lab.connectFromInternet(lab.addr.public4, 9023, { proto: 'udp', send: 'udp through NAT-PMP' });
      assert.deepEqual(via, { ok: true, data: 'udp through NAT-PMP' });
    } finally {
      await echo.close();
    }
  });

  test('inbound IPv6 is closed by default and open after openInbound6', async () => {
    const lan6 = lab.addr.lan6;
    assert.ok(lan6);
    const echo = await lab.listen('lan', 2424);
    try {
      const closed = await lab.connectFromInternet(lan6, 2424, { send: 'v6', timeoutMs: 800 });
      assert.equal(closed.ok, false);
      const undo = await lab.openInbound6(2424);
      assert.deepEqual(await lab.connectFromInternet(lan6, 2424, { send: 'v6' }), { ok: true, data: 'v6' });
      await undo();
      assert.equal((await lab.connectFromInternet(lan6, 2424, { send: 'v6', timeoutMs: 800 })).ok, false);
    } finally {
      await echo.close();
    }
  });

  test('an IPv6 pinhole made with upnpc -6 (WANIPv6FirewallControl) lets the internet reach the LAN host', async () => {
    const lan6 = lab.addr.lan6;
    assert.ok(lan6);
    const echo = await lab.listen('lan', 2626);
    try {
      assert.equal((await lab.connectFromInternet(lan6, 2626, { send: 'v6', timeoutMs: 800 })).ok, false, 'closed before');
      const r = await lab.exec('lan', ['upnpc', '-6', '-m', lab.lanIf, '-A', '', '0', lan6, '2626', 'TCP', '3600'], { timeoutMs: 20_000 });
      assert.match(r.stdout, /Pinhole ID = \d+/, r.stdout + r.stderr);
      assert.deepEqual(await lab.connectFromInternet(lan6, 2626, { send: 'through the pinhole' }), { ok: true, data: 'through the pinhole' });
    } finally {
      await echo.close();
    }
  });

  test('the LAN host resolves the default sources and provider hostnames to the internet host', async () => {
    for (const name of ['api.ipify.org', 'dynupdate.no-ip.com', 'www.duckdns.org', 'api.cloudflare.com', 'ifconfig.co']) {
      const r = await lab.exec('lan', ['getent', 'ahostsv4', name]);
      assert.match(r.stdout, new RegExp(`^${lab.addr.internet4.replaceAll('.', '\\.')}\\s`, 'm'), `${name}: ${r.stdout}`);
    }
  });
});

describe('healthy lab with fixtures', { skip }, () => {
  test('the LAN host reaches the echo services under their real hostnames over HTTPS with the lab CA', async () => {
    await withLab('healthy', async (lab) => {
      assert.ok(lab.internet, 'fixtures run by default');
      const js = "for (const u of ['https://api.ipify.org', 'https://api6.ipify.org']) console.log(await (await fetch(u)).text())";
      const r = await lab.exec('lan', [process.execPath, '--input-type=module', '-e', js], { env: lab.ddnsEnv });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), [lab.addr.public4, lab.addr.public6]);
      const seen = await lab.internet.requests();
      assert.deepEqual(seen.map((e) => [e.host, e.remote]), [['api.ipify.org', lab.addr.public4], ['api6.ipify.org', lab.addr.public6]]);
    });
  });
});

describe('lab network changes', { skip }, () => {
  test('rebootRouter drops every mapping and restarts the NAT-PMP epoch', async () => {
    await withLab('healthy', async (lab) => {
      const mapped = await natpmpc(lab, { publicPort: 9100, privatePort: 2100 });
      assert.ok(mapped.mapped, mapped.raw);
      // With system_uptime off the epoch counts from miniupnpd's start: let it grow so a restart shows.
      await new Promise((r) => setTimeout(r, 2_100));
      const first = await natpmpc(lab);
      assert.ok((first.epoch ?? 0) >= 2, first.raw);
      await lab.rebootRouter();
      const nft = await lab.exec('rtr', ['nft', 'list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']);
      assert.doesNotMatch(nft.stdout, /dnat/, 'no mapping survives the reboot');
      const again = await natpmpc(lab);
      assert.equal(again.publicIp, lab.addr.public4, again.raw);
      assert.ok((again.epoch ?? Infinity) < (first.epoch ?? -1), `epoch restarted: ${first.epoch} → ${again.epoch}`);
    }, { fixtures: false, miniupnpd: { system_uptime: false } });
  });

  test('setRouterWan changes the address the router reports and announces it on the LAN', async () => {
    await withLab('healthy', async (lab) => {
      // NAT-PMP announcements go to 224.0.0.1:5350 (PCP ANNOUNCEs too, in either order); catch them raw.
      const catcher = lab.spawn('lan', ['timeout', '5', 'socat', '-u', 'UDP4-RECV:5350,reuseaddr', 'STDOUT']);
      let heard = Buffer.alloc(0);
      // version 0, opcode 128, result 0, epoch (4 bytes), then the new address 44.0.0.7.
      const announced = (b: Buffer) => {
        for (let i = 0; i + 12 <= b.length; i++) {
          if (b[i] === 0 && b[i + 1] === 0x80 && b[i + 2] === 0 && b[i + 3] === 0 && b.subarray(i + 8, i + 12).equals(Buffer.from([44, 0, 0, 7]))) return true;
        }
        return false;
      };
      const heardIt = new Promise<boolean>((resolve) => {
        catcher.stdout?.on('data', (d: Buffer) => { heard = Buffer.concat([heard, d]); if (announced(heard)) resolve(true); });
        catcher.once('exit', () => resolve(announced(heard)));
      });
      await lab.exec('lan', ['sh', '-c', 'for i in $(seq 40); do ss -Hlun "sport = :5350" | grep -q . && exit 0; sleep 0.05; done; exit 1']);
      await lab.setRouterWan('44.0.0.7');
      assert.equal(await heardIt, true, `announcement: ${heard.toString('hex')}`);
      catcher.kill();
      const r = await natpmpc(lab);
      assert.equal(r.publicIp, '44.0.0.7', r.raw);
      assert.equal(lab.addr.public4, '44.0.0.7');
      const echo = await lab.listen('wan', 7000, { reply: 'peer' });
      try {
        const seen = await lab.connect('lan', lab.addr.internet4, 7000, { replyMs: 15_000 });
        assert.equal(seen.ok, true, seen.error);
        assert.match(seen.data, /^(?:::ffff:)?44\.0\.0\.7\b/, 'the internet sees the new address');
      } finally {
        await echo.close();
      }
    }, { fixtures: false });
  });

  test('setStaticLease moves the LAN host to the new reservation, and null to a pool address', async () => {
    await withLab('healthy', async (lab) => {
      await lab.setStaticLease('192.168.77.60');
      assert.equal(lab.addr.lan4, '192.168.77.60');
      const r = await lab.exec('lan', ['ip', '-o', '-4', 'addr', 'show', 'dev', lab.lanIf]);
      assert.match(r.stdout, /inet 192\.168\.77\.60\/24/);
      assert.doesNotMatch(r.stdout, /192\.168\.77\.50/);
      await lab.setStaticLease(null);
      const [, last] = /^192\.168\.77\.(\d+)$/.exec(lab.addr.lan4) ?? [];
      assert.ok(Number(last) >= 100 && Number(last) <= 200, `pool address, got ${lab.addr.lan4}`);
    }, { fixtures: false });
  });
});

describe('lab lifecycle', { skip }, () => {
  test('bring-up and tear-down of healthy take under 10 s', async () => {
    const t0 = Date.now();
    const lab = await startLab('healthy');
    const up = Date.now() - t0;
    await lab.down();
    const total = Date.now() - t0;
    console.log(`# healthy lab (with fixtures): up ${up} ms, up+down ${total} ms`);
    assert.ok(total < 10_000, `up+down took ${total} ms`);
  });

  test('withLab tears everything down when the body throws', async () => {
    let seen: Lab | undefined;
    await assert.rejects(withLab('healthy', async (lab) => { seen = lab; throw new Error('boom'); }, { fixtures: false }), /boom/);
    assert.ok(seen);
    const names = await listNamespaces();
    for (const ns of Object.values(seen.hosts)) assert.ok(!names.includes(ns), `${ns} removed`);
    assert.equal(existsSync(`/etc/netns/${seen.hosts.lan}`), false);
    assert.equal(existsSync(seen.dir), false);
  });

  test('ddns runs inside the LAN host', async () => {
    await withLab('healthy', async (lab) => {
      const r = await lab.ddns(['--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    }, { fixtures: false });
  });
});

// ---- the controller's pure parts: no root needed ----------------------------------------------------

describe('lab plans and parsers', () => {
  test('every scenario plan keeps interface names within 15 characters and the public side non-reserved', () => {
    for (const name of scenarioNames) {
      const plan = planFor(name);
      for (const l of plan.links) for (const e of [l.a, l.b]) assert.ok(e.ifname.length <= 15, `${name}: ${e.ifname}`);
      assert.equal(classifyAddress(plan.addr.public4), 'global', `${name}: public4 ${plan.addr.public4}`);
      assert.equal(classifyAddress(plan.addr.internet4), 'global');
      if (plan.addr.public6) assert.equal(classifyAddress(plan.addr.public6), 'global', `${name}: public6`);
    }
    assert.equal(classifyAddress(planFor('cgnat').addr.routerWan4), 'cgnat');
    assert.equal(classifyAddress(planFor('double-nat').addr.routerWan4), 'private');
    assert.equal(planFor('healthy').addr.routerWan4, planFor('healthy').addr.public4);
  });

  test('scenario plans switch the router parts that define them', () => {
    const r = (n: Parameters<typeof planFor>[0]) => planFor(n).router;
    assert.deepEqual([r('healthy').upnp, r('healthy').natpmp, r('healthy').miniupnpd, r('healthy').staticLease], [true, true, true, true]);
    assert.equal(r('upnp-only').natpmp, false);
    assert.equal(r('natpmp-only').upnp, false);
    assert.equal(r('no-portmap').miniupnpd, false);
    assert.equal(r('no-static-lease').staticLease, false);
    assert.deepEqual(planFor('cgnat').hosts, ['lan', 'rtr', 'isp', 'wan']);
    assert.throws(() => planFor('cgnat', { ipv6: true }), /IPv6 is not available/);
  });

  test('miniupnpd.conf: scenario switches, forceIgdV1, overrides win and rules replace the defaults', () => {
    const base = miniupnpdConf(planFor('upnp-only'));
    assert.match(base, /^enable_natpmp=no$/m);
    assert.match(base, /^enable_upnp=yes$/m);
    assert.match(base, /^deny 0-65535 0\.0\.0\.0\/0 0-65535$/m);
    const over = miniupnpdConf(planFor('healthy'), { forceIgdV1: true, secure_mode: false, min_lifetime: 30, rules: ['allow 1-65535 0.0.0.0/0 1-65535'] });
    assert.match(over, /^force_igd_desc_v1=yes$/m);
    assert.match(over, /^secure_mode=no$/m);
    assert.match(over, /^min_lifetime=30$/m);
    assert.doesNotMatch(over, /^deny/m);
  });

  test('run ids carry the owner pid, and only lab names parse', () => {
    const id = newRunId(() => 0.5);
    assert.equal(id, `ddl${process.pid}-iiii`);
    assert.equal(ownerOf(`${id}-lan`), process.pid);
    assert.equal(ownerOf(id), process.pid);
    assert.equal(ownerOf('ddlfoo-lan'), undefined);
    assert.equal(ownerOf('docker0'), undefined);
    assert.deepEqual(parseNetnsList('ddl1-abcd-lan (id: 3)\nother\n\n'), ['ddl1-abcd-lan', 'other']);
  });

  test('upnpc output parses: valid IGD, CGNAT (not connected), empty external address with -i', () => {
    const healthy = parseUpnpc(' desc: http://192.168.77.1:5000/rootDesc.xml\n st: urn:schemas-upnp-org:device:InternetGatewayDevice:1\n\nFound valid IGD : http://192.168.77.1:5000/ctl/IPConn\nLocal LAN ip address : 192.168.77.50\nConnection Type : IP_Routed\nStatus : Connected, uptime=717s, LastConnectionError : ERROR_NONE\nExternalIPAddress = 44.0.0.2\n');
    assert.deepEqual([healthy.desc, healthy.validIgd, healthy.connected, healthy.externalIp], ['http://192.168.77.1:5000/rootDesc.xml', true, true, '44.0.0.2']);
    const cgnat = parseUpnpc(' desc: http://192.168.77.1:5000/rootDesc.xml\nFound a (not connected?) IGD : http://192.168.77.1:5000/ctl/IPConn\nNo valid UPNP Internet Gateway Device found.\n');
    assert.deepEqual([cgnat.validIgd, cgnat.externalIp], [false, undefined]);
    const forced = parseUpnpc('Found a (not connected?) IGD : http://192.168.77.1:5000/ctl/IPConn\nTrying to continue anyway\nStatus : Connected, uptime=762s\nGetExternalIPAddress failed. (empty string)\n');
    assert.equal(forced.externalIp, '');
  });

  test('natpmpc output parses: address and mapping, result 3, no NAT-PMP at all', () => {
    const ok = parseNatpmpc('Public IP address : 44.0.0.2\nepoch = 719\nsendnewportmappingrequest returned 12 (SUCCESS)\nreadnatpmpresponseorretry returned 0 (OK)\nMapped public port 2223 protocol TCP to local port 8023 liftime 3600\nepoch = 719\n', 0);
    assert.deepEqual([ok.publicIp, ok.epoch, ok.mapped, ok.failure, ok.noAnswer], ['44.0.0.2', 719, { publicPort: 2223, privatePort: 8023, lifetime: 3600 }, undefined, false]);
    const r3 = parseNatpmpc('readnatpmpresponseorretry returned -52 (FAILED)\nreadnatpmpresponseorretry() failed : network failure\n  errno=0 \'Success\'\n', 1);
    assert.deepEqual([r3.publicIp, r3.failure, r3.noAnswer], [undefined, 'network failure', false]);
    const none = parseNatpmpc('readnatpmpresponseorretry returned -7 (FAILED)\nreadnatpmpresponseorretry() failed : the gateway does not support nat-pmp\n  errno=111 \'Connection refused\'\n', 1);
    assert.equal(none.noAnswer, true);
    assert.equal(parseNatpmpc('', 124).noAnswer, true);
  });
});
