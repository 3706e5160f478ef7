import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/secrets.js';

test('tunnels: the identity comes from identityFile (or DDNS_TUNNELS_0_IDENTITY_FILE) and is redacted in print', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-tun-'));
  const keyText = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAsecretbody\n-----END OPENSSH PRIVATE KEY-----';
  writeFileSync(join(cwd, 'key'), `${keyText}\n`);
  writeFileSync(join(cwd, 'key2'), 'from-env-file-key\n');
  const tunnel = { relay: 'tunnel@vps.example.org', identityFile: join(cwd, 'key'), hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', forwards: [{ remotePort: 2222, localPort: 22 }] };
  writeFileSync(join(cwd, 'ddns.config.json'), JSON.stringify({ tunnels: [tunnel], records: [{ provider: 'duckdns', domains: ['x'], token: 'tok-123456', target: 'relay:0' }] }));
  const { config } = await loadConfig({ cwd, env: {} });
  const t = config.tunnels[0];
  assert.equal(t?.identity, keyText);
  assert.equal(t?.keepaliveInterval, 5);
  assert.equal(t?.standby, true, 'a warm standby by default');
  assert.deepEqual(t?.forwards, [{ remotePort: 2222, localPort: 22, localAddress: '127.0.0.1', remoteBind: '0.0.0.0' }]);
  assert.ok(!JSON.stringify(redactConfig(config)).includes('secretbody'));
  const fromEnv = await loadConfig({ cwd, env: { DDNS_TUNNELS_0_IDENTITY_FILE: join(cwd, 'key2') } });
  assert.equal(fromEnv.config.tunnels[0]?.identity, 'from-env-file-key');
});
