/**
 * `ddns map` against a real router (miniupnpd in a network namespace) in the healthy, upnp-only and
 * natpmp-only labs: mappings made by ddns carry connections from the internet namespace to the LAN host
 * and disappear on remove; upkeep (`map add --keep`) brings a mapping back within one renewal after a
 * router reboot; a secure_mode refusal is reported as such; and ddns and miniupnpc see each other's
 * mappings.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { REPO_ROOT, startLab, type Lab } from './lab.js';
import { upnpcAdd } from './tools.js';

const skip = labSkip();

interface Listed { protocol: string; externalPort: number; internalAddress: string; internalPort: number; description: string; leaseSeconds: number; via: string; ours: boolean }

async function waitUntil(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < deadlineMs) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${deadlineMs} ms`);
}

const runs = [
  { scenario: 'healthy', igdV1: false },
  { scenario: 'upnp-only', igdV1: false },
  { scenario: 'natpmp-only', igdV1: false },
  // miniupnpd describes itself as IGD:2 by default; as IGD:1 a secure_mode refusal is the ambiguous 718.
  { scenario: 'healthy', igdV1: true },
] as const;

for (const { scenario, igdV1 } of runs) {
  describe(`ddns map in the ${scenario} lab${igdV1 ? ' (router as IGD:1)' : ''}`, { skip }, () => {
    let lab: Lab;
    const hasUpnp = scenario !== 'natpmp-only';
    const hasNatpmp = scenario !== 'upnp-only';
    const env = () => ({ DDNS_PORTMAP_LEDGER: join(lab.dir, 'portmap-ledger.json') });
    const ddns = (args: string[], extra: Record<string, string> = {}) => lab.ddns(args, { env: { ...env(), ...extra }, timeoutMs: 30_000 });
    const list = async (all = false): Promise<Listed[]> => {
      const r = await ddns(['--json', 'map', 'list', ...(all ? ['--all'] : [])]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Listed[];
    };

    before(async () => { lab = await startLab(scenario, { fixtures: false, forceIgdV1: igdV1 }); });
    after(async () => { await lab?.down(); });

    test('map add opens a port the internet reaches; list shows it; remove closes it', async () => {
      const echo = await lab.listen('lan', 2201);
      try {
        const add = await ddns(['--json', 'map', 'add', '2201', '--external', '8201', '--lease', '600', '--description', 'lab add']);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        const added = JSON.parse(add.stdout) as { mapped: boolean; via: string; externalAddress: string | null };
        assert.equal(added.mapped, true);
        assert.equal(added.via, hasUpnp ? 'upnp' : 'pcp');
        assert.equal(added.externalAddress, lab.addr.public4);
        assert.deepEqual(await lab.connectFromInternet(lab.addr.public4, 8201, { send: 'through ddns' }), { ok: true, data: 'through ddns' });

        const mine = (await list()).find((m) => m.externalPort === 8201);
        assert.ok(mine, 'map list shows the mapping');
        assert.equal(mine.internalAddress, lab.addr.lan4);
        assert.equal(mine.internalPort, 2201);
        assert.equal(mine.ours, true);

        const rm = await ddns(['map', 'remove', '8201']);
        assert.equal(rm.code, 0, rm.stdout + rm.stderr);
        assert.equal((await lab.connectFromInternet(lab.addr.public4, 8201, { send: 'after remove' })).ok, false);
        assert.equal((await list()).some((m) => m.externalPort === 8201), false);
      } finally {
        await echo.close();
      }
    });

    test('after a router reboot, map add --keep has the mapping back within one renewal', async () => {
      const echo = await lab.listen('lan', 2202);
      const lease = 20;
      const child = lab.spawn('lan', [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'map', 'add', '2202', '--external', '8202', '--lease', String(lease), '--keep'], { env: { ...env(), DDNS_MAP_CHECK_MS: '1000' } });
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
      try {
        await waitUntil('ddns map add --keep maps the port', 15_000, async () => /mapped/.test(out));
        await waitUntil('reachable before the reboot', 5_000, async () => (await lab.connectFromInternet(lab.addr.public4, 8202, { send: 'x' })).ok);
        await lab.rebootRouter();
        const back = await waitUntil('reachable again after the reboot', (lease / 2) * 1000 + 5_000, async () => (await lab.connectFromInternet(lab.addr.public4, 8202, { send: 'again', timeoutMs: 1000 })).ok);
        assert.ok(back <= (lease / 2) * 1000 + 5_000, `back after ${back} ms`);
        // The router holds the mapping once it has answered; the line saying so reaches our pipe after that.
        await waitUntil(`--keep logs the mapping renewed or added\n${err}`, 15_000, async () => /mapping\.(renewed|added)/.test(err));
      } finally {
        child.kill('SIGTERM');
        if (child.exitCode === null) await once(child, 'exit');
        await echo.close();
      }
      assert.equal((await lab.connectFromInternet(lab.addr.public4, 8202, { send: 'after stop' })).ok, false, `--keep removes its mapping on exit\n${err}`);
    });

    test('routerExternalAddress reports the WAN address through each protocol the router speaks, and leaves it answering', async () => {
      const script = join(lab.dir, 'router-address.mts');
      writeFileSync(script, [
        `import { routerExternalAddress, probeRouter } from '${REPO_ROOT}/src/portmap/router.ts';`,
        'const out = {};',
        "for (const via of ['pcp', 'natpmp', 'upnp']) { const r = await routerExternalAddress(via); out[via] = r.ok ? r.address : r.kind; }",
        'const p = await probeRouter(); out.probe = p.ok ? { upnp: p.probe.upnp.ok, natpmp: p.probe.natpmp.ok, pcp: p.probe.pcp.ok } : null;',
        'console.log(JSON.stringify(out));',
      ].join('\n'));
      const r = await lab.exec('lan', [process.execPath, '--import', 'tsx', script], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(out, {
        pcp: hasNatpmp ? lab.addr.public4 : 'unsupported',
        natpmp: hasNatpmp ? lab.addr.public4 : 'unsupported',
        upnp: hasUpnp ? lab.addr.public4 : 'unsupported',
        probe: { upnp: hasUpnp, natpmp: hasNatpmp, pcp: hasNatpmp },
      });
    });

    if (hasUpnp) {
      test('a secure_mode refusal (InternalClient not the requester) is reported as secure-mode, not as a conflict', async () => {
        // ddns itself never maps another address; this drives the library as a misconfigured client would.
        const script = join(lab.dir, 'secure-mode.mts');
        writeFileSync(script, [
          `import { lanContext } from '${REPO_ROOT}/src/portmap/lan.ts';`,
          `import { findGateway } from '${REPO_ROOT}/src/portmap/upnp/gateway.ts';`,
          `import { upnpMap } from '${REPO_ROOT}/src/portmap/upnp/policy.ts';`,
          `import { closeHttp } from '${REPO_ROOT}/src/portmap/upnp/http.ts';`,
          'const l = await lanContext(); if (!l.ok) throw new Error(l.why);',
          'const g = await findGateway(l.lan); if (!g.ok) throw new Error(g.why);',
          "const out = await upnpMap(g.gateway.igd, { protocol: 'tcp', internalPort: 2203, externalPort: 8203, leaseSeconds: 600, description: 'other' }, process.argv[2]);",
          'console.log(JSON.stringify(out)); await closeHttp();',
        ].join('\n'));
        const r = await lab.exec('lan', [process.execPath, '--import', 'tsx', script, '192.168.77.99'], { timeoutMs: 30_000 });
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { kind: string; reason?: string; why?: string };
        assert.equal(out.kind, 'refused', r.stdout);
        assert.equal(out.reason, 'secure-mode');
        // IGD:1 says 718, which also means "port taken". (Debian's miniupnpd 2.3.1 answers 718 even when it
        // describes itself as IGD:2; an IGD_V2 build says 606.) Both are told apart the same way.
        assert.match(out.why ?? '', igdV1 ? /UPnP 718/ : /UPnP (718|606)/);
      });

      test('upnpc -l lists the mapping ddns made, and ddns map list shows the one upnpc -a made', async () => {
        const add = await ddns(['map', 'add', '2204', '--external', '8204', '--lease', '600', '--description', 'made-by-ddns']);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        const l = await lab.exec('lan', ['upnpc', '-m', lab.lanIf, '-l'], { timeoutMs: 20_000 });
        assert.match(l.stdout, new RegExp(`TCP\\s+8204->${lab.addr.lan4.replaceAll('.', '\\.')}:2204\\s+'made-by-ddns'`), l.stdout);

        const u = await upnpcAdd(lab, 2205, 8205);
        assert.equal(u.ok, true, u.raw);
        const theirs = (await list()).find((m) => m.externalPort === 8205);
        assert.ok(theirs, 'ddns map list shows the upnpc mapping');
        assert.deepEqual([theirs.protocol, theirs.internalAddress, theirs.internalPort, theirs.description, theirs.ours], ['tcp', lab.addr.lan4, 2205, 'ddns-lab', true]);
        assert.equal((await ddns(['map', 'remove', '8204'])).code, 0);
        assert.equal((await ddns(['map', 'remove', '8205'])).code, 0);
      });

      test(`map list --all shows what upnpc -l shows, over the WAN service remembered from last time (${igdV1 ? 'IGD:1, GetGenericPortMappingEntry' : 'IGD:2, GetListOfPortMappings'}); a remembered router that no longer answers is found again`, async () => {
        for (const p of [2207, 2208]) assert.equal((await ddns(['map', 'add', String(p), '--external', String(p + 6000), '--lease', '600'])).code, 0);
        for (const [p, proto] of [[2209, 'TCP'], [2210, 'UDP']] as const) {
          const u = await upnpcAdd(lab, p, p + 6000, proto);
          assert.equal(u.ok, true, u.raw);
        }
        const hintFile = join(lab.dir, 'gateway.json');
        assert.equal((await ddns(['map', 'list'])).code, 0); // finds the router, remembers it
        const hint = JSON.parse(readFileSync(hintFile, 'utf8')) as { location: string; service?: { serviceType: string; controlUrl: string } };
        assert.equal(hint.service?.serviceType, `urn:schemas-upnp-org:service:WANIPConnection:${igdV1 ? 1 : 2}`);
        assert.equal(new URL(hint.service.controlUrl).host, new URL(hint.location).host);

        const actions = (re: RegExp) => lab.log('miniupnpd').split('\n').filter((l) => re.test(l)).length;
        const [v2Before, descBefore] = [actions(/SOAPAction: .*#GetListOfPortMappings/), actions(/GET \/rootDesc\.xml/)];
        const ours = await list(true);
        assert.equal(actions(/GET \/rootDesc\.xml/), descBefore, 'no description fetched: the remembered service was used');
        assert.equal(actions(/SOAPAction: .*#GetListOfPortMappings/) - v2Before, igdV1 ? 0 : 2, 'IGD:2 lists TCP and UDP with one request each');
        const l = await lab.exec('lan', ['upnpc', '-m', lab.lanIf, '-l'], { timeoutMs: 20_000 });
        const theirs = [...l.stdout.matchAll(/\b(TCP|UDP)\s+(\d+)->([\d.]+):(\d+)\s+'([^']*)'/g)].map((m) => `${m[1]!.toLowerCase()} ${m[2]} ${m[3]}:${m[4]} ${m[5]}`).sort();
        assert.ok(theirs.length >= 3, l.stdout);
        assert.deepEqual(ours.map((m) => `${m.protocol} ${m.externalPort} ${m.internalAddress}:${m.internalPort} ${m.description}`).sort(), theirs);

        // The router "moved" (a miniupnpd with port=0 picks a new port when it restarts): nothing answers there.
        writeFileSync(hintFile, JSON.stringify({ gateway: lab.addr.router4, location: `http://${lab.addr.router4}:5999/rootDesc.xml`, service: { serviceType: hint.service.serviceType, controlUrl: `http://${lab.addr.router4}:5999/ctl/IPConn` } }));
        assert.deepEqual((await list(true)).map((m) => m.externalPort).sort(), ours.map((m) => m.externalPort).sort());
        assert.equal((JSON.parse(readFileSync(hintFile, 'utf8')) as { location: string }).location, hint.location, 'the router found again is remembered');
        for (const p of [8207, 8208, 8209]) assert.equal((await ddns(['map', 'remove', String(p)])).code, 0);
        assert.equal((await ddns(['map', 'remove', '8210', '--protocol', 'udp'])).code, 0);
      });
    } else {
      test('without UPnP, map list shows what ddns mapped through NAT-PMP/PCP and says the router cannot list', async () => {
        const add = await ddns(['map', 'add', '2206', '--via', 'natpmp', '--lease', '600']);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        const r = await ddns(['map', 'list']);
        assert.match(r.stdout, /2206/);
        assert.match(r.stderr, /does not answer UPnP/);
        assert.equal((await ddns(['map', 'remove', '2206'])).code, 0);
      });
    }
  });
}

describe('ddns map behind carrier-grade NAT (router WAN in 100.64/10)', { skip }, () => {
  let lab: Lab;
  before(async () => { lab = await startLab('cgnat', { fixtures: false }); });
  after(async () => { await lab?.down(); });

  test('map add says the router has no public address (not a bare UPnP 501), with advice, and exits 1', async () => {
    const r = await lab.ddns(['--json', 'map', 'add', '2230', '--lease', '600'], { env: { DDNS_PORTMAP_LEDGER: join(lab.dir, 'portmap-ledger.json') }, timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { mapped: boolean; kind: string; reason: string; via: string; advice?: string };
    assert.deepEqual([out.mapped, out.kind, out.reason, out.via], [false, 'refused', 'no-public-address', 'upnp']);
    assert.match(out.advice ?? '', /public IPv4 address/);
  });
});
