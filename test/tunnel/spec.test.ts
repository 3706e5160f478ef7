import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseHostKey, parseRelay, tunnelSpec } from '../../src/tunnel/spec.js';
import { privateKeyProblem } from '../../src/tunnel/ssh2.js';

const dir = mkdtempSync(join(tmpdir(), 'ddns-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'c', '-f', join(dir, 'k')]);
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-C', 'c', '-f', join(dir, 'enc')]);
const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];

describe('tunnel spec', () => {
  test('host key: as ssh-keyscan or known_hosts prints it; the fingerprint is what ssh-keygen -l says', () => {
    const r = parseHostKey(`vps.example.org ${pub}`);
    assert.ok(r.ok);
    assert.equal(r.key.type, 'ssh-ed25519');
    assert.equal(r.key.fingerprint, fp);
    assert.ok(parseHostKey(pub.split(' ').slice(0, 2).join(' ')).ok);
  });

  test('host key: a type that does not match the key data, or no key, is refused with the reason', () => {
    const data = pub.split(' ')[1];
    const r = parseHostKey(`ecdsa-sha2-nistp256 ${data}`);
    assert.ok(!r.ok);
    assert.match(r.problem, /says ecdsa-sha2-nistp256 but its key data is a ssh-ed25519 key/);
    assert.ok(!parseHostKey('AAAA').ok);
  });

  test('relay: user@host[:port], [v6]; port 22 by default', () => {
    assert.deepEqual(parseRelay('tunnel@vps.example.org'), { user: 'tunnel', host: 'vps.example.org', port: 22 });
    assert.deepEqual(parseRelay('t@[2001:db8::1]:2200'), { user: 't', host: '2001:db8::1', port: 2200 });
    assert.equal(parseRelay('vps.example.org:22'), undefined);
    assert.equal(parseRelay('t@h:70000'), undefined);
  });

  test('spec: every field usable, or the key path named; the private key never in a message', () => {
    const key = readFileSync(join(dir, 'k'), 'utf8');
    const base = { relay: 'tunnel@vps.example.org:2200', identity: key, hostKey: pub, keepaliveInterval: 5, keepaliveCountMax: 3, forwards: [{ remotePort: 2222, localPort: 22, localAddress: '127.0.0.1', remoteBind: '0.0.0.0' }], standby: true };
    const r = tunnelSpec(base, 1);
    assert.ok(r.ok);
    assert.equal(r.spec.name, 'tunnels[1]');
    assert.equal(r.spec.relay, 'tunnel@vps.example.org:2200');
    assert.equal(r.spec.keepaliveMs, 5000);
    const bad = tunnelSpec({ ...base, identity: pub }, 0);
    assert.ok(!bad.ok);
    assert.match(bad.problem, /^tunnels\[0\]\.identity: not a private key/);
    assert.ok(!bad.problem.includes(pub.split(' ')[1] ?? '~'));
  });

  test('an encrypted private key is named as such', () => {
    assert.match(privateKeyProblem(readFileSync(join(dir, 'enc'), 'utf8')) ?? '', /encrypted/);
    assert.equal(privateKeyProblem(readFileSync(join(dir, 'k'), 'utf8')), undefined);
  });
});
