/**
 * Every scenario comes up and shows the property that defines it, as the reference clients see it.
 * (The healthy scenario's mappings end to end are in lab.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { withLab, type Lab } from './lab.js';
import { hops, igdDeviceType, natpmpc, ssdpSearch, upnpcAdd, upnpcStatus } from './tools.js';

const skip = labSkip();
const noFixtures = { fixtures: false } as const;

/** What the internet sees as the source address of a TCP connection from the LAN host. */
async function seenFromInternet(lab: Lab): Promise<string> {
  const srv = await lab.listen('wan', 7001, { reply: 'peer' });
  try {
    const r = await lab.connect('lan', lab.addr.internet4, 7001, { replyMs: 15_000 });
    assert.equal(r.ok, true, r.error);
    return r.data.trim();
  } finally {
    await srv.close();
  }
}

describe('scenarios', { skip }, () => {
  test('healthy: UPnP (IGD:2) and NAT-PMP both report the public address, the static lease holds', async () => {
    await withLab('healthy', async (lab) => {
      assert.equal(lab.addr.lan4, lab.addr.expectedLease4);
      assert.equal(await igdDeviceType(lab), 'urn:schemas-upnp-org:device:InternetGatewayDevice:2');
      assert.deepEqual(await ssdpSearch(lab).then((l) => [...new Set(l)]), [`http://${lab.addr.router4}:5000/rootDesc.xml`]);
      assert.equal((await natpmpc(lab)).publicIp, lab.addr.public4);
      assert.equal(await seenFromInternet(lab), lab.addr.public4);
    }, noFixtures);
  });

  test('healthy with forceIgdV1: the router describes itself as IGD:1 and upnpc still maps through it', async () => {
    await withLab('healthy', async (lab) => {
      assert.equal(await igdDeviceType(lab), 'urn:schemas-upnp-org:device:InternetGatewayDevice:1');
      const echo = await lab.listen('lan', 2525);
      try {
        const add = await upnpcAdd(lab, 2525, 8525);
        assert.equal(add.ok, true, add.raw);
        assert.deepEqual(await lab.connectFromInternet(lab.addr.public4, 8525, { send: 'igd1' }), { ok: true, data: 'igd1' });
      } finally {
        await echo.close();
      }
    }, { ...noFixtures, forceIgdV1: true });
  });

  test('upnp-only: UPnP answers, NAT-PMP does not', async () => {
    await withLab('upnp-only', async (lab) => {
      assert.equal(await igdDeviceType(lab), 'urn:schemas-upnp-org:device:InternetGatewayDevice:2');
      assert.ok((await ssdpSearch(lab)).length > 0, 'SSDP answered');
      const pmp = await natpmpc(lab);
      assert.equal(pmp.noAnswer, true, pmp.raw);
      assert.equal(pmp.publicIp, undefined);
    }, noFixtures);
  });

  test('natpmp-only: NAT-PMP answers, UPnP does not (no SSDP reply, no description)', async () => {
    await withLab('natpmp-only', async (lab) => {
      assert.equal((await natpmpc(lab)).publicIp, lab.addr.public4);
      assert.deepEqual(await ssdpSearch(lab), []);
      assert.equal(await igdDeviceType(lab), '');
    }, noFixtures);
  });

  test('no-portmap: neither UPnP nor NAT-PMP answers, but the LAN still reaches the internet through NAT', async () => {
    await withLab('no-portmap', async (lab) => {
      assert.deepEqual(await ssdpSearch(lab), []);
      assert.equal((await natpmpc(lab)).noAnswer, true);
      assert.equal(await seenFromInternet(lab), lab.addr.public4);
    }, noFixtures);
  });

  test('cgnat: the router WAN is in 100.64.0.0/10 and it reports no usable external address', async () => {
    await withLab('cgnat', async (lab) => {
      assert.match(lab.addr.routerWan4, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
      const s = await upnpcStatus(lab);
      assert.equal(s.validIgd, false, s.raw);
      assert.equal((await upnpcStatus(lab, ['-i'])).externalIp, '', 'GetExternalIPAddress is empty');
      const pmp = await natpmpc(lab);
      assert.equal(pmp.publicIp, undefined, pmp.raw);
      assert.equal(pmp.failure, 'network failure', 'NAT-PMP result 3');
      // The hop past the router is the ISP's CGNAT; the internet sees the ISP's address.
      assert.deepEqual((await hops(lab, lab.addr.internet4)).slice(0, 2), [lab.addr.router4, '100.64.7.1']);
      assert.equal(await seenFromInternet(lab), lab.addr.public4);
      assert.notEqual(lab.addr.public4, lab.addr.routerWan4);
      // The ISP renumbers its NAT: the internet sees the new address, the router's view does not change.
      await lab.setPublic4('44.0.0.33');
      assert.equal(await seenFromInternet(lab), '44.0.0.33');
      assert.equal(lab.addr.routerWan4, '100.64.7.2');
    }, noFixtures);
  });

  test('double-nat: the router WAN is private behind another home router, which hides the public address', async () => {
    await withLab('double-nat', async (lab) => {
      assert.match(lab.addr.routerWan4, /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/);
      const wan = await lab.exec('rtr', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'r-wan']);
      assert.ok(wan.stdout.includes(`inet ${lab.addr.routerWan4}/`), wan.stdout);
      // miniupnpd 2.3.1 has no ext_allow_private_ipv4: it reports "" and NAT-PMP result 3, as for CGNAT.
      assert.equal((await upnpcStatus(lab, ['-i'])).externalIp, '');
      assert.equal((await natpmpc(lab)).failure, 'network failure');
      assert.deepEqual((await hops(lab, lab.addr.internet4)).slice(0, 2), [lab.addr.router4, '192.168.1.1']);
      assert.equal(await seenFromInternet(lab), lab.addr.public4);
    }, noFixtures);
  });

  test('double-nat with routerStun: the router claims the upstream public address, yet its mappings are unreachable', async () => {
    await withLab('double-nat', async (lab) => {
      // miniupnpd 2.3.1 misjudges the upstream NAT as full-cone and re-enables forwarding.
      assert.match(lab.log('miniupnpd'), /unrestricted full-cone NAT/);
      assert.equal((await natpmpc(lab)).publicIp, lab.addr.public4, 'the router reports the upstream address');
      const echo = await lab.listen('lan', 2727);
      try {
        const add = await upnpcAdd(lab, 2727, 8727);
        assert.equal(add.ok, true, add.raw);
        const from = await lab.connectFromInternet(lab.addr.public4, 8727, { send: 'lie', timeoutMs: 1_500 });
        assert.equal(from.ok, false, 'the upstream NAT forwards nothing');
      } finally {
        await echo.close();
      }
    }, { routerStun: true });
  });

  test('no-static-lease: the LAN host gets a pool address, not the reserved one', async () => {
    await withLab('no-static-lease', async (lab) => {
      assert.notEqual(lab.addr.lan4, lab.addr.expectedLease4);
      const last = Number(lab.addr.lan4.split('.')[3]);
      assert.ok(lab.addr.lan4.startsWith('192.168.77.') && last >= 100 && last <= 200, lab.addr.lan4);
      const conf = await lab.exec('rtr', ['cat', `${lab.dir}/dnsmasq.conf`]);
      assert.doesNotMatch(conf.stdout, /dhcp-host/);
    }, noFixtures);
  });
});
