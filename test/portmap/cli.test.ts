import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const ddns = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DDNS_PORTMAP_LEDGER: '/nonexistent/ledger.json' } });

test('ddns map add refuses a bad port or lease as a usage error (exit 2) before touching the network', () => {
  for (const args of [['map', 'add', '0'], ['map', 'add', '70000'], ['map', 'add', '80', '--external', 'x'], ['map', 'add', '80', '--lease', '0'], ['map', 'remove', '-1']]) {
    const r = ddns(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
  const j = ddns('--json', 'map', 'add', '80', '--lease', 'soon');
  assert.equal(j.status, 2);
  assert.match(JSON.parse(j.stdout).error, /--lease: "soon" is not a lease/);
});

test('ddns map --help names add, list and remove; --via offers auto, upnp, natpmp, pcp', () => {
  const r = ddns('map', '--help');
  assert.equal(r.status, 0);
  for (const c of ['add', 'list', 'remove']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  const a = ddns('map', 'add', '--help');
  assert.match(a.stdout.replace(/\s+/g, ' '), /choices: "auto", "upnp", "natpmp", "pcp"/);
  const bad = ddns('map', 'list', '--via', 'smoke-signals');
  assert.equal(bad.status, 2);
});
