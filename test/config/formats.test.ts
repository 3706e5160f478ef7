import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'ddns-cfg-'));
}

const formats: [string, string][] = [
  ['ddns.config.json', JSON.stringify({ ip: { quorum: 3 } })],
  ['ddns.config.yaml', 'ip:\n  quorum: 3\n'],
  ['ddns.config.yml', 'ip: { quorum: 3 }\n'],
  ['ddns.config.js', 'export default { ip: { quorum: 3 } };\n'],
  ['ddns.config.mjs', 'export default { ip: { quorum: 3 } };\n'],
  ['ddns.config.ts', 'const n: number = 3;\nexport default { ip: { quorum: n } };\n'],
  ['.ddnsrc', '{ "ip": { "quorum": 3 } }\n'],
  ['.ddnsrc.json', '{ "ip": { "quorum": 3 } }\n'],
  ['.ddnsrc.yaml', 'ip:\n  quorum: 3\n'],
  ['package.json', JSON.stringify({ name: 'x', type: 'module', ddns: { ip: { quorum: 3 } } })],
];

for (const [name, body] of formats) {
  test(`a ${name} file is found by search and loaded`, async () => {
    const d = dir();
    writeFileSync(join(d, name), body);
    if (name.endsWith('.js')) writeFileSync(join(d, 'package.json'), '{"type":"module"}');
    const { config, source } = await loadConfig({ cwd: d, env: {} });
    assert.equal(config.ip.quorum, 3);
    assert.equal(source, join(d, name));
  });
}

test('-c FILE loads a file with any name, and DDNS_CONFIG does the same', async () => {
  const d = dir();
  mkdirSync(join(d, 'etc'));
  writeFileSync(join(d, 'etc', 'custom.yaml'), 'ip: { quorum: 4 }\n');
  assert.equal((await loadConfig({ cwd: d, file: 'etc/custom.yaml', env: {} })).config.ip.quorum, 4);
  assert.equal((await loadConfig({ cwd: d, env: { DDNS_CONFIG: join(d, 'etc', 'custom.yaml') } })).config.ip.quorum, 4);
});

test('no file at all gives the defaults of the contract', async () => {
  const home = dir();
  const { config, source } = await loadConfig({ cwd: dir(), env: { HOME: home }, systemDir: dir() });
  assert.equal(source, undefined);
  assert.deepEqual(config.ip.families, [4]);
  assert.equal(config.ip.quorum, 2);
  assert.deepEqual(config.records, []);
  assert.equal(config.daemon.interval, 300);
  assert.equal(config.daemon.listen, '127.0.0.1:9876');
  assert.equal(config.state, join(home, '.local', 'state', 'ddns', 'state.json'));
});

test('defaults fill each record kind: No-IP, DuckDNS and Cloudflare servers', async () => {
  const d = dir();
  writeFileSync(join(d, 'ddns.config.yaml', ), [
    'records:',
    '  - { provider: noip, hostname: home.example.net, username: u, password: p1 }',
    '  - { provider: duckdns, domains: [myhome], token: t1 }',
    '  - { provider: cloudflare, zone: example.com, name: home.example.com, apiToken: cf1 }',
    'forwards:',
    '  - { internalPort: 22, externalPort: 2222 }',
  ].join('\n'));
  const { config } = await loadConfig({ cwd: d, env: {} });
  const [noip, duck, cf] = config.records;
  assert.equal(noip?.provider === 'noip' && noip.server, 'https://dynupdate.no-ip.com');
  assert.equal(duck?.provider === 'duckdns' && duck.server, 'https://www.duckdns.org');
  assert.equal(cf?.provider === 'cloudflare' && cf.baseUrl, 'https://api.cloudflare.com/client/v4');
  assert.deepEqual(config.forwards[0], { internalPort: 22, externalPort: 2222, protocol: 'tcp', description: 'ddns', lease: 7200, via: 'auto', families: [4] });
});
