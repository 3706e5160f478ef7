import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ddnsSync } from '../helpers/cli.js';

function ddns(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return ddnsSync(args, { cwd, env });
}

test('secrets from the file and from *_FILE never appear in config print or in trace logs', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-secret-'));
  const fileSecret = join(cwd, 'duck-token');
  writeFileSync(fileSecret, 'S3CRET-from-secret-file\n');
  writeFileSync(join(cwd, 'ddns.config.yaml'), [
    'records:',
    '  - { provider: noip, hostname: home.example.net, username: alice, password: S3CRET-noip-password }',
    '  - { provider: duckdns, domains: [myhome], token: S3CRET-overridden }',
    '  - { provider: cloudflare, zone: example.com, name: home.example.com, apiToken: S3CRET-cf-api-token }',
    'probe: { url: "https://probe.example.org", token: S3CRET-probe-token }',
    'daemon: { notify: [ { type: webhook, url: "https://hooks.example.org/S3CRET-hook-path" } ] }',
  ].join('\n'));
  const env = { DDNS_RECORDS_1_TOKEN_FILE: fileSecret };
  const print = ddns(['--log-level', 'trace', 'config', 'print'], cwd, env);
  assert.equal(print.code, 0, print.out);
  assert.match(print.out, /"\*\*\*"/);
  assert.match(print.out, /alice/, 'non-secret fields are shown');
  assert.doesNotMatch(print.out, /S3CRET/);
  const validate = ddns(['--log-level', 'trace', '--json', 'config', 'validate'], cwd, env);
  assert.equal(validate.code, 0, validate.out);
  assert.match(validate.out, /config\.loaded/, 'the trace run did log the configuration');
  assert.doesNotMatch(validate.out, /S3CRET/);
});

test('an invalid config exits 2 and prints every problem, secrets redacted', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-bad-'));
  writeFileSync(join(cwd, 'ddns.config.json'), JSON.stringify({
    ip: { quorum: 0 },
    records: [{ provider: 'noip', hostname: 'h.example.net', username: 'u', password: 'S3CRET-pw', server: 'http://dyn.example.net' }],
  }));
  const r = ddns(['config', 'validate'], cwd);
  assert.equal(r.code, 2);
  assert.match(r.out, /ip\.quorum: must be at least 1, got 0/);
  assert.match(r.out, /records\[0\]\.server: would send credentials over plain http/);
  assert.doesNotMatch(r.out, /S3CRET/);
});

test('usage errors exit 2; --help and --version exit 0', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ddns-usage-'));
  assert.equal(ddns(['no-such-command'], cwd).code, 2);
  assert.equal(ddns(['--log-level', 'loud', 'config', 'print'], cwd).code, 2);
  const help = ddns(['--help'], cwd);
  assert.equal(help.code, 0);
  assert.match(help.out, /config/);
  const version = ddns(['--version'], cwd);
  assert.equal(version.code, 0);
  assert.match(version.out, /^\d+\.\d+\.\d+/);
});

test('config schema prints a JSON Schema that describes records and forwards', () => {
  const r = ddns(['config', 'schema'], mkdtempSync(join(tmpdir(), 'ddns-schema-')));
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.records && schema.properties.forwards && schema.properties.ip);
});
