/**
 * `ddns update` in the lab (issue 5 "Done when"): the product's DEFAULT provider URLs
 * (dynupdate.no-ip.com, www.duckdns.org, api.cloudflare.com) resolve in the LAN host to the fixtures in
 * the internet namespace, served over HTTPS with the lab CA; the public address comes from detection
 * through the real router. Once from a config file, once from environment variables alone (Docker).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { startLab, type Lab } from './lab.js';

const skip = labSkip();

const NOIP_PW = 'lab-noip-Password-31';
const DUCK_TOKEN = 'lab-duck-token-5c21aa90';
const CF_TOKEN = 'labCloudflareTokenAbcdefghijklmn0';
const ZONE_ID = 'aa00bb11cc22dd33ee44ff5566778899';
const PROVIDER_SERVICES = new Set(['dyndns2', 'duckdns', 'cloudflare']);

interface Report { ok: boolean; records: Array<{ label: string; status: string; why?: string; fix?: string }>; addresses: Record<string, { address: string | null } | null> }

function parse(r: { code: number | null; stdout: string; stderr: string }): Report {
  try {
    return JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`update --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

describe('ddns update in the lab', { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('healthy');
    await lab.internet?.configure({
      dyndns2: { accounts: { labuser: { password: NOIP_PW, hostnames: ['home.ddns.net', 'env.ddns.net'] } }, agentPolicy: 'strict' },
      duckdns: { tokens: { [DUCK_TOKEN]: ['labhome', 'envhome'] } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } },
    });
  });
  after(async () => { await lab?.down(); });

  const providerRequests = async (since: number) => ((await lab.internet?.requests({ since })) ?? []).filter((r) => PROVIDER_SERVICES.has(r.service));
  const count = async () => ((await lab.internet?.requests()) ?? []).length;

  test('from a config file with the default URLs: every provider gets v4 and v6 over HTTPS; a second run sends nothing', async () => {
    const internet = lab.internet;
    assert.ok(internet);
    const config = {
      ip: { families: [4, 6] },
      records: [
        { provider: 'noip', hostname: 'home.ddns.net', username: 'labuser', password: NOIP_PW },
        { provider: 'duckdns', domains: ['labhome'], token: DUCK_TOKEN },
        { provider: 'cloudflare', zone: 'example.com', name: 'home.example.com', apiToken: CF_TOKEN, create: true },
      ],
    };
    const since = await count();
    const first = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    const rep = parse(first);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.deepEqual(rep.records.map((r) => r.status), ['updated', 'updated', 'updated']);
    assert.equal(rep.addresses['4']?.address, lab.addr.public4);
    assert.equal(rep.addresses['6']?.address, lab.addr.public6);
    for (const name of ['home.ddns.net', 'labhome.duckdns.org', 'home.example.com']) {
      assert.deepEqual((await internet.records({ name, type: 'A' })).map((r) => r.content), [lab.addr.public4], name);
      assert.deepEqual((await internet.records({ name, type: 'AAAA' })).map((r) => r.content), [lab.addr.public6], name);
    }
    const sent = await providerRequests(since);
    assert.deepEqual([...new Set(sent.map((r) => r.host))].sort(), ['api.cloudflare.com', 'dynupdate.no-ip.com', 'www.duckdns.org']);
    assert.ok(sent.every((r) => r.transport === 'https'), 'credentials only over TLS');
    assert.ok(!sent.some((r) => r.notes?.includes('used-caller-address')));

    const again = await count();
    const second = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(parse(second).records.map((r) => r.status), ['current', 'current', 'current']);
    assert.deepEqual(await providerRequests(again), []);
  });

  test('from environment variables alone (the Docker case), with a secret from a *_FILE', async () => {
    const internet = lab.internet;
    assert.ok(internet);
    const tokenFile = join(lab.dir, 'duck-token');
    writeFileSync(tokenFile, `${DUCK_TOKEN}\n`, { mode: 0o600 });
    const env = {
      DDNS_STATE: join(lab.dir, 'env-state.json'),
      DDNS_IP_FAMILIES: '4',
      DDNS_RECORDS_0_PROVIDER: 'duckdns',
      DDNS_RECORDS_0_DOMAINS: 'envhome',
      DDNS_RECORDS_0_TOKEN_FILE: tokenFile,
      DDNS_RECORDS_1_PROVIDER: 'noip',
      DDNS_RECORDS_1_HOSTNAME: 'env.ddns.net',
      DDNS_RECORDS_1_USERNAME: 'labuser',
      DDNS_RECORDS_1_PASSWORD: NOIP_PW,
      DDNS_RECORDS_2_PROVIDER: 'cloudflare',
      DDNS_RECORDS_2_ZONE: 'example.com',
      DDNS_RECORDS_2_NAME: 'env.example.com',
      DDNS_RECORDS_2_API_TOKEN: CF_TOKEN,
      DDNS_RECORDS_2_CREATE: 'true',
    };
    const r = await lab.ddns(['--json', '--log-level', 'trace', 'update'], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(parse(r).records.map((x) => x.status), ['updated', 'updated', 'updated']);
    for (const name of ['envhome.duckdns.org', 'env.ddns.net', 'env.example.com']) {
      assert.deepEqual((await internet.records({ name, type: 'A' })).map((x) => x.content), [lab.addr.public4], name);
    }
    for (const secret of [NOIP_PW, DUCK_TOKEN, CF_TOKEN]) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'no secret in any output');
    }
  });

  test('911 from No-IP: the next run (well within 30 minutes) sends nothing; a good that echoes another address fails', async () => {
    const internet = lab.internet;
    assert.ok(internet);
    const config = { ip: { families: [4] }, state: join(lab.dir, 'fault-state.json'), records: [{ provider: 'noip', hostname: 'env.ddns.net', username: 'labuser', password: NOIP_PW }] };
    await internet.setRecord({ name: 'env.ddns.net', type: 'A', content: null });
    await internet.configure({ dyndns2: { answer: '911' } });
    const first = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    await internet.configure({ dyndns2: { answer: null } });
    assert.equal(first.code, 1);
    assert.equal(parse(first).records[0]?.status, 'retryAfter');
    const since = await count();
    const second = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    assert.equal(parse(second).records[0]?.status, 'waiting');
    assert.deepEqual(await providerRequests(since), []);

    await internet.configure({ dyndns2: { echoAddress: '44.9.9.9' } });
    const echoed = await lab.ddns(['--json', 'update'], { config: { ...config, state: join(lab.dir, 'echo-state.json') }, timeoutMs: 60_000 });
    await internet.configure({ dyndns2: { echoAddress: null } });
    assert.equal(echoed.code, 1);
    const rec = parse(echoed).records[0];
    assert.equal(rec?.status, 'failed');
    assert.match(rec?.why ?? '', /44\.9\.9\.9/);
  });

  test('Cloudflare 429 at api.cloudflare.com is waited out as told, then the record is set', async () => {
    const internet = lab.internet;
    assert.ok(internet);
    await internet.configure({ cloudflare: { rateLimit: { count: 1, retryAfter: 2 } } });
    const config = { ip: { families: [4] }, state: join(lab.dir, 'rl-state.json'), records: [{ provider: 'cloudflare', zone: 'example.com', name: 'rl.example.com', apiToken: CF_TOKEN, create: true }] };
    const t0 = Date.now();
    const r = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(Date.now() - t0 >= 2000, 'waited the Retry-After');
    assert.deepEqual((await internet.records({ name: 'rl.example.com', type: 'A' })).map((x) => x.content), [lab.addr.public4]);
  });

  test('badauth from the real No-IP URL is held, and the next run sends nothing and names the fix', async () => {
    const config = { ip: { families: [4] }, state: join(lab.dir, 'held-state.json'), records: [{ provider: 'noip', hostname: 'fresh.ddns.net', username: 'labuser', password: 'not-the-password' }] };
    const first = await lab.ddns(['--json', 'update'], { config, timeoutMs: 60_000 });
    assert.equal(first.code, 1);
    assert.equal(parse(first).records[0]?.status, 'held');
    const since = await count();
    const second = await lab.ddns(['update'], { config, timeoutMs: 60_000 });
    assert.equal(second.code, 1);
    assert.match(second.stdout, /fix: set the right username and password/);
    assert.deepEqual(await providerRequests(since), []);
  });
});
