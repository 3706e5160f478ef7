import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

function setup(yaml: string): { cwd: string; secret: (name: string, value: string) => string } {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-prec-'));
  writeFileSync(join(cwd, 'ddns.config.yaml'), yaml);
  return {
    cwd,
    secret: (name, value) => {
      const p = join(cwd, name);
      writeFileSync(p, `${value}\n`);
      return p;
    },
  };
}

const duck = 'records:\n  - { provider: duckdns, domains: [myhome], token: from-file }\n';

test('the file value stands when nothing overrides it', async () => {
  const { cwd } = setup(duck);
  const { config } = await loadConfig({ cwd, env: {} });
  assert.equal(config.records[0]?.provider === 'duckdns' && config.records[0].token, 'from-file');
});

test('the environment overrides the file', async () => {
  const { cwd } = setup(duck);
  const { config } = await loadConfig({ cwd, env: { DDNS_RECORDS_0_TOKEN: 'from-env' } });
  assert.equal(config.records[0]?.provider === 'duckdns' && config.records[0].token, 'from-env');
});

test('an environment *_FILE overrides both the file and the plain environment variable', async () => {
  const { cwd, secret } = setup(duck);
  const path = secret('tok', 'from-secret-file');
  const { config } = await loadConfig({ cwd, env: { DDNS_RECORDS_0_TOKEN: 'from-env', DDNS_RECORDS_0_TOKEN_FILE: path } });
  assert.equal(config.records[0]?.provider === 'duckdns' && config.records[0].token, 'from-secret-file');
});

test('xFile in the file is read, trailing newline removed, and the File key does not survive', async () => {
  const { cwd, secret } = setup('');
  const path = secret('pw', 'pa55word');
  writeFileSync(join(cwd, 'ddns.config.yaml'), `records:\n  - { provider: noip, hostname: h.example.net, username: u, passwordFile: ${path} }\n`);
  const { config } = await loadConfig({ cwd, env: {} });
  const r = config.records[0] as Record<string, unknown>;
  assert.equal(r.password, 'pa55word');
  assert.equal('passwordFile' in r, false);
});

test('a plain environment value beats an xFile from the file (higher layer wins)', async () => {
  const { cwd, secret } = setup('');
  const path = secret('pw', 'file-secret');
  writeFileSync(join(cwd, 'ddns.config.yaml'), `records:\n  - { provider: noip, hostname: h.example.net, username: u, passwordFile: ${path} }\n`);
  const { config } = await loadConfig({ cwd, env: { DDNS_RECORDS_0_PASSWORD: 'env-secret' } });
  assert.equal((config.records[0] as Record<string, unknown>).password, 'env-secret');
});

test('the environment alone builds a whole config (the Docker case), with typed values', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-env-'));
  const tok = join(cwd, 'cf');
  writeFileSync(tok, 'cf-token\n');
  const { config, source } = await loadConfig({
    cwd,
    env: {
      DDNS_IP_FAMILIES: '4,6',
      DDNS_IP_QUORUM: '3',
      DDNS_RECORDS_0_PROVIDER: 'cloudflare',
      DDNS_RECORDS_0_ZONE: 'example.com',
      DDNS_RECORDS_0_NAME: 'home.example.com',
      DDNS_RECORDS_0_API_TOKEN_FILE: tok,
      DDNS_RECORDS_0_PROXIED: 'false',
      DDNS_RECORDS_1_PROVIDER: 'duckdns',
      DDNS_RECORDS_1_DOMAINS: 'a,b',
      DDNS_RECORDS_1_TOKEN: 'duck',
      DDNS_FORWARDS: '[{"internalPort":22,"externalPort":2222}]',
      DDNS_DAEMON_REMOVE_ON_STOP: 'true',
      DDNS_LAN_EXPECT_ADDRESS: '192.168.1.50',
      DDNS_STATE: '/data/state.json',
      PATH: '/usr/bin',
    },
  });
  assert.equal(source, undefined);
  assert.deepEqual(config.ip.families, [4, 6]);
  assert.equal(config.ip.quorum, 3);
  const [cf, dk] = config.records;
  assert.ok(cf?.provider === 'cloudflare');
  assert.equal(cf.apiToken, 'cf-token');
  assert.equal(cf.proxied, false);
  assert.ok(dk?.provider === 'duckdns');
  assert.deepEqual(dk.domains, ['a', 'b']);
  assert.equal(config.forwards[0]?.externalPort, 2222);
  assert.equal(config.daemon.removeOnStop, true);
  assert.equal(config.lan.expectAddress, '192.168.1.50');
  assert.equal(config.state, '/data/state.json');
});
