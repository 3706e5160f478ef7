import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { PROVIDERS } from '../../src/config/plain.js';

const secretFile = join(mkdtempSync(join(tmpdir(), 'ddns-sec-')), 'unreadable');
writeFileSync(secretFile, 'x');
chmodSync(secretFile, 0o000);

async function problems(config: unknown, env: NodeJS.ProcessEnv = {}, opts: { readText?: (p: string) => string } = {}): Promise<string[]> {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-bad-'));
  writeFileSync(join(cwd, 'ddns.config.json'), JSON.stringify(config));
  try {
    await loadConfig({ cwd, env, ...opts });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('the configuration was accepted');
}

const noip = { provider: 'noip', hostname: 'home.example.net', username: 'u', password: 'pw-123456' };

// Each bad configuration with the exact lines it must produce (all of them, nothing else).
const cases: { name: string; config: unknown; env?: NodeJS.ProcessEnv; expect: string[]; read?: (p: string) => string }[] = [
  { name: 'quorum of wrong type', config: { ip: { quorum: 'two' } }, expect: ['ip.quorum: expected number, got a string "two"'] },
  { name: 'quorum 0', config: { ip: { quorum: 0 } }, expect: ['ip.quorum: must be at least 1, got 0'] },
  { name: 'family 5', config: { ip: { families: [4, 5] } }, expect: ['ip.families[1]: 5 is not valid — one of: 4, 6'] },
  { name: 'family twice', config: { ip: { families: [4, 4] } }, expect: ['ip.families: lists a family twice, got [4,4]'] },
  { name: 'unknown top-level key', config: { recrods: [] }, expect: ['recrods: unknown key — did you mean "records"? Valid keys here: $schema, ip, records, forwards, lan, probe, daemon, tunnels, state'] },
  { name: 'unknown key in a record', config: { records: [{ ...noip, hostnme: 'x' }] }, expect: ['records[0].hostnme: unknown key — did you mean "hostname"? Valid keys here: provider, hostname, username, password, passwordFile, server, families, ipv6Host, allowInsecure, target'] },
  { name: 'unknown provider', config: { records: [{ provider: 'nosuchdns', hostname: 'x' }] }, expect: [`records[0].provider: "nosuchdns" is not a known provider — valid: ${PROVIDERS.join(', ')}`] },
  { name: 'external port 0', config: { forwards: [{ internalPort: 22, externalPort: 0 }] }, expect: ['forwards[0].externalPort: must be at least 1, got 0'] },
  { name: 'internal port 70000', config: { forwards: [{ internalPort: 70000 }] }, expect: ['forwards[0].internalPort: must be at most 65535, got 70000'] },
  { name: 'protocol sctp', config: { forwards: [{ internalPort: 22, protocol: 'sctp' }] }, expect: ['forwards[0].protocol: "sctp" is not valid — one of: "tcp", "udp"'] },
  { name: 'duplicate forwards', config: { forwards: [{ internalPort: 22, externalPort: 2222 }, { internalPort: 23, externalPort: 2222 }] }, expect: ['forwards[1]: maps external tcp/2222 again (already forwards[0]) — a router holds one mapping per external port and protocol'] },
  { name: 'forward family 5', config: { forwards: [{ internalPort: 22, families: [5] }] }, expect: ['forwards[0].families[0]: 5 is not valid — one of: 4, 6'] },
  { name: 'forward family twice', config: { forwards: [{ internalPort: 22, families: [6, 6] }] }, expect: ['forwards[0].families: lists a family twice, got [6,6]'] },
  { name: 'pinhole with a translated port', config: { forwards: [{ internalPort: 22, externalPort: 2222, families: [4, 6] }] }, expect: ['forwards[0].externalPort: would need port translation (2222 → 22), but an IPv6 pinhole (families with 6) opens internalPort 22 itself — IPv6 has no port translation; drop externalPort, or write the IPv4 forward and { internalPort: 22, families: [6] } as two forwards'] },
  { name: 'pinhole over NAT-PMP', config: { forwards: [{ internalPort: 22, families: [6], via: 'natpmp' }] }, expect: ['forwards[0].via: would need NAT-PMP to open an IPv6 pinhole (families with 6), which it cannot: use auto, upnp or pcp'] },
  { name: 'the same pinhole twice', config: { forwards: [{ internalPort: 22, families: [6] }, { internalPort: 22, externalPort: 2222 }, { internalPort: 22, families: [4, 6] }] }, expect: ['forwards[2]: opens the IPv6 pinhole tcp/22 again (already forwards[0])'] },
  { name: 'tunnel without a key', config: { tunnels: [{ relay: 'tunnel@vps.example.org', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', forwards: [{ remotePort: 2222, localPort: 22 }] }] }, expect: ['tunnels[0].identity: is required — set identity, identityFile, or DDNS_TUNNELS_<index>_IDENTITY(_FILE)'] },
  { name: 'tunnel relay not user@host', config: { tunnels: [{ relay: 'vps.example.org:22', identity: 'k', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', forwards: [{ remotePort: 2222, localPort: 22 }] }] }, expect: ['tunnels[0].relay: not user@host[:port] (e.g. tunnel@vps.example.org:22), got "vps.example.org:22"'] },
  { name: 'tunnel standby not a boolean', config: { tunnels: [{ relay: 'tunnel@vps.example.org', identity: 'k', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', forwards: [{ remotePort: 2222, localPort: 22 }], standby: 'no' }] }, expect: ['tunnels[0].standby: expected boolean, got a string "no"'] },
  { name: 'record target relay without tunnels', config: { records: [{ ...noip, target: 'relay' }] }, expect: ['records[0].target: publishes a relay address, but no tunnels are configured, got "relay"'] },
  { name: 'record target bad', config: { records: [{ ...noip, target: 'vps' }] }, expect: ['records[0].target: not a target — one of public, relay, relay:N (N = index into tunnels), got "vps"'] },
  { name: 'invalid lan.expectAddress', config: { lan: { expectAddress: '192.168.1.300' } }, expect: ['lan.expectAddress: not an IPv4 address (e.g. 192.168.1.50), got "192.168.1.300"'] },
  { name: 'missing secret', config: { records: [{ provider: 'duckdns', domains: ['myhome'] }] }, expect: ['records[0].token: is required for provider duckdns — set token, tokenFile, or the environment variable DDNS_RECORDS_<index>_TOKEN(_FILE)'] },
  { name: 'unreadable secret file', config: { records: [{ provider: 'duckdns', domains: ['myhome'], tokenFile: '/nonexistent/token' }] }, expect: ['records[0].tokenFile: cannot read "/nonexistent/token" (ENOENT) — the file must exist and be readable by this user', 'records[0].token: is required for provider duckdns — set token, tokenFile, or the environment variable DDNS_RECORDS_<index>_TOKEN(_FILE)'] },
  { name: 'secret file without permission', config: { records: [{ provider: 'duckdns', domains: ['myhome'], tokenFile: secretFile }] }, read: () => { throw Object.assign(new Error('denied'), { code: 'EACCES' }); }, expect: [`records[0].tokenFile: cannot read "${secretFile}" (EACCES) — the file must exist and be readable by this user`, 'records[0].token: is required for provider duckdns — set token, tokenFile, or the environment variable DDNS_RECORDS_<index>_TOKEN(_FILE)'] },
  { name: 'password and passwordFile together', config: { records: [{ ...noip, passwordFile: '/run/secrets/pw' }] }, expect: ['records[0].passwordFile: set either password or passwordFile, not both'] },
  { name: 'credentials over http to a non-loopback host', config: { records: [{ ...noip, server: 'http://dyn.example.net' }] }, expect: ['records[0].server: would send credentials over plain http — use https://, or set allowInsecure: true on this record if the server is on a network you trust'] },
  { name: 'probe token over http', config: { probe: { url: 'http://probe.example.org', token: 'tok-1234567890abcdef' } }, expect: ['probe.url: would send the probe token over plain http — use https://, or set probe.allowInsecure: true'] },
  { name: 'probe token under 16 bytes (the secret is not echoed)', config: { probe: { url: 'https://probe.example.org', token: 'tok-123456' } }, expect: ['probe.token: is shorter than 16 bytes — a short token can be guessed; make one with `openssl rand -hex 16`, got "***"'] },
  { name: 'notification URL (a secret) over http', config: { daemon: { notify: [{ type: 'webhook', url: 'http://hooks.example.net/t0k3n' }] } }, expect: ['daemon.notify[0].url: would send the notification URL (a secret) over plain http — use https://, or set allowInsecure: true on this notifier'] },
  { name: 'server not a URL', config: { records: [{ ...noip, server: 'dynupdate.no-ip.com' }] }, expect: ['records[0].server: not an http(s) URL (e.g. https://example.net), got "dynupdate.no-ip.com"'] },
  { name: 'hostname with a space', config: { records: [{ ...noip, hostname: 'my home.example.net' }] }, expect: ['records[0].hostname: not a DNS hostname (e.g. home.example.net), got "my home.example.net"'] },
  { name: 'empty secret is redacted in the message', config: { records: [{ ...noip, password: 12345678 }] }, expect: ['records[0].password: expected string, got a number "***"'] },
  { name: 'interval too short', config: { daemon: { interval: 5 } }, expect: ['daemon.interval: must be at least 30, got 5'] },
  { name: 'listen without a port', config: { daemon: { listen: '127.0.0.1' } }, expect: ['daemon.listen: not HOST:PORT (e.g. 127.0.0.1:9876 or [::1]:9876), got "127.0.0.1"'] },
  { name: 'records not a list', config: { records: { provider: 'noip' } }, expect: ['records: expected array, got an object {"provider":"noip"}'] },
  { name: 'unknown ip source type', config: { ip: { sources: [{ type: 'carrier-pigeon' }] } }, expect: ['ip.sources[0].type: "carrier-pigeon" is not a known type — valid: http, dns, stun, upnp, natpmp, pcp, interface, static'] },
  { name: 'unknown environment variable', config: {}, env: { DDNS_IP_QUORUMM: '2' }, expect: ['DDNS_IP_QUORUMM: not a ddns setting — names are DDNS_ + the key path, e.g. DDNS_IP_QUORUM, DDNS_RECORDS_0_TOKEN_FILE'] },
  { name: 'environment value of wrong type names the key', config: {}, env: { DDNS_IP_QUORUM: 'lots' }, expect: ['ip.quorum: expected number, got a string "lots"'] },
];

for (const c of cases) {
  test(`bad config is refused with the exact reason: ${c.name}`, async () => {
    assert.deepEqual(await problems(c.config, c.env, c.read ? { readText: c.read } : {}), c.expect);
  });
}

test('every problem is reported at once, not just the first', async () => {
  const all = await problems({
    ip: { quorum: 0 },
    forwards: [{ internalPort: 0 }],
    lan: { expectAddress: 'x' },
    records: [{ provider: 'nope' }],
  });
  assert.equal(all.length, 4);
});

test('a file that is not an object of settings is refused', async () => {
  assert.deepEqual(await problems([1, 2]), [': the file must hold an object of settings, got a list']);
});
