/**
 * The fixtures are faithful enough for real clients: ddclient 3.10 (protocol dyndns2 against the No-IP
 * fixture, protocol duckdns) and inadyn 2.10 (its no-ip.com and duckdns.org plugins) complete updates
 * from the LAN host, reaching the providers by their real hostnames over HTTPS with the lab CA, and the
 * fixtures reject what the real services reject (a wrong password, a missing User-Agent).
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { InternetClient } from '../fixtures/client.js';
import { labSkip } from './gate.js';
import { startLab, type Lab } from './lab.js';
import { httpGet } from './tools.js';

const skip = labSkip();

const NOIP_USER = 'labuser';
const NOIP_PASS = 'lab-pass-1';
const NOIP_HOST = 'home.ddns.net';
const DUCK_TOKEN = 'a7c4d3b2-0000-4000-8000-000000000001';
const DUCK_NAME = 'myhome';

async function ddclient(lab: Lab, name: string, body: string): Promise<{ code: number; out: string }> {
  const conf = join(lab.dir, `${name}.conf`);
  writeFileSync(conf, [
    'daemon=0', 'syslog=no', 'ssl=yes', `ssl_ca_file=${join(lab.dir, 'ca.pem')}`,
    'usev4=webv4', 'webv4=https://api.ipify.org/', body, '',
  ].join('\n'));
  chmodSync(conf, 0o600);
  const r = await lab.exec('lan', ['ddclient', '-file', conf, '-cache', join(lab.dir, `${name}.cache`), '-foreground', '-verbose', '-noquiet', '-force', '-daemon=0'], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

async function inadyn(lab: Lab, name: string, provider: string): Promise<{ code: number; out: string }> {
  const conf = join(lab.dir, `${name}.conf`);
  writeFileSync(conf, `period = 60\nca-trust-file = ${join(lab.dir, 'ca.pem')}\n${provider}\n`);
  chmodSync(conf, 0o600);
  const r = await lab.exec('lan', ['inadyn', '--once', '--foreground', '--force', '-f', conf, '--cache-dir', join(lab.dir, `${name}-cache`), '-P', join(lab.dir, `${name}.pid`), '-l', 'info'], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

const checkip = `    checkip-server = api.ipify.org\n    checkip-path = /\n    checkip-ssl = true`;

describe('third-party clients against the fixtures', { skip }, () => {
  let lab: Lab;
  let net: InternetClient;

  before(async () => {
    lab = await startLab('healthy');
    if (!lab.internet) throw new Error('the fixtures did not start');
    net = lab.internet;
  });
  after(async () => { await lab?.down(); });
  beforeEach(async () => {
    await net.configure({
      dyndns2: { accounts: { [NOIP_USER]: { password: NOIP_PASS, hostnames: [NOIP_HOST] } }, agentPolicy: 'real', answer: null },
      duckdns: { tokens: { [DUCK_TOKEN]: [DUCK_NAME] }, answer: null },
    });
    await net.setRecord({ name: NOIP_HOST, type: 'A', content: null });
    await net.setRecord({ name: `${DUCK_NAME}.duckdns.org`, type: 'A', content: null });
    await net.clearRequests();
  });

  async function recordA(name: string): Promise<string[]> {
    return (await net.records({ name, type: 'A' })).map((r) => r.content);
  }

  test('ddclient (protocol dyndns2) updates the No-IP fixture with the public address', async () => {
    const r = await ddclient(lab, 'ddclient-noip', `protocol=dyndns2\nserver=dynupdate.no-ip.com\nlogin=${NOIP_USER}\npassword='${NOIP_PASS}'\n${NOIP_HOST}`);
    assert.match(r.out, /SUCCESS:\s+updating home\.ddns\.net: good: IP address set to 44\.0\.0\.2/, r.out);
    const [upd] = await net.requests({ service: 'dyndns2' });
    assert.ok(upd, 'the fixture saw the update');
    assert.equal(upd.transport, 'https');
    assert.equal(upd.query.myip, lab.addr.public4);
    assert.equal(upd.query.hostname, NOIP_HOST);
    assert.match(upd.headers['user-agent'] ?? '', /^ddclient\/3\.10/);
    assert.deepEqual(await recordA(NOIP_HOST), [lab.addr.public4]);
  });

  test('ddclient (protocol duckdns) updates the DuckDNS fixture', async () => {
    const r = await ddclient(lab, 'ddclient-duck', `protocol=duckdns\npassword='${DUCK_TOKEN}'\n${DUCK_NAME}`);
    assert.match(r.out, /SUCCESS/, r.out);
    const [upd] = await net.requests({ service: 'duckdns' });
    assert.ok(upd, 'the fixture saw the update');
    assert.equal(upd.query.token, DUCK_TOKEN);
    assert.equal(upd.status, 200);
    assert.equal(upd.response, 'OK');
    assert.deepEqual(await recordA(`${DUCK_NAME}.duckdns.org`), [lab.addr.public4]);
  });

  test('inadyn (no-ip.com and duckdns.org plugins) completes both updates', async () => {
    const r = await inadyn(lab, 'inadyn', [
      `provider no-ip.com {\n    username = ${NOIP_USER}\n    password = ${NOIP_PASS}\n    hostname = ${NOIP_HOST}\n${checkip}\n}`,
      // inadyn's DuckDNS plugin sends the *username* as the token (docs/lab.md).
      `provider duckdns.org {\n    username = ${DUCK_TOKEN}\n    password = unused\n    hostname = ${DUCK_NAME}.duckdns.org\n${checkip}\n}`,
    ].join('\n'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Successful alias table update for home\.ddns\.net => new IP# 44\.0\.0\.2/, r.out);
    assert.match(r.out, /Successful alias table update for myhome\.duckdns\.org => new IP# 44\.0\.0\.2/, r.out);
    const noip = await net.requests({ service: 'dyndns2' });
    assert.equal(noip.length, 1);
    assert.match(String(noip[0]?.response), /^(good|nochg) 44\.0\.0\.2$/);
    assert.match(noip[0]?.headers['user-agent'] ?? '', /^inadyn\/2\.10/);
    const duck = await net.requests({ service: 'duckdns' });
    assert.equal(duck[0]?.response, 'OK');
    assert.deepEqual(await recordA(NOIP_HOST), [lab.addr.public4]);
  });

  test('a wrong password is rejected with badauth and the record stays unchanged (ddclient and inadyn)', async () => {
    const d = await ddclient(lab, 'ddclient-bad', `protocol=dyndns2\nserver=dynupdate.no-ip.com\nlogin=${NOIP_USER}\npassword='wrong'\n${NOIP_HOST}`);
    assert.doesNotMatch(d.out, /SUCCESS:\s+updating/, d.out);
    assert.match(d.out, /FAILED:.*badauth|authorization failed|badauth/i, d.out);
    const i = await inadyn(lab, 'inadyn-bad', `provider no-ip.com {\n    username = ${NOIP_USER}\n    password = wrong\n    hostname = ${NOIP_HOST}\n${checkip}\n}`);
    assert.doesNotMatch(i.out, /Successful alias table update/, i.out);
    const seen = await net.requests({ service: 'dyndns2' });
    assert.ok(seen.length >= 2, 'both clients reached the fixture');
    for (const e of seen) assert.equal(e.response, 'badauth');
    assert.deepEqual(await recordA(NOIP_HOST), []);
  });

  test('a request without a User-Agent is rejected with badagent', async () => {
    const url = `https://dynupdate.no-ip.com/nic/update?hostname=${NOIP_HOST}&myip=${lab.addr.public4}`;
    const auth = `Basic ${Buffer.from(`${NOIP_USER}:${NOIP_PASS}`).toString('base64')}`;
    const r = await httpGet(lab, url, { authorization: auth });
    assert.equal(r.body.trim(), 'badagent', r.error);
    // The same request with an agent the real service accepts goes through: only the agent was wrong.
    const ok = await httpGet(lab, url, { authorization: auth, 'user-agent': 'ddns-lab test/0.1-lab lab@example.invalid' });
    assert.equal(ok.body.trim(), `good ${lab.addr.public4}`);
    const [e] = await net.requests({ service: 'dyndns2' });
    assert.equal(e?.headers['user-agent'], undefined);
    assert.equal(e?.response, 'badagent');
  });
});
