/**
 * Where users keep files: the config is looked for in the working directory, then
 * $XDG_CONFIG_HOME/ddns/ (default ~/.config/ddns/), then /etc/ddns/; the default state file is in the XDG
 * state directory. Real files in temp directories; the environment and the system directory injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { configSearchDirs, defaultStatePath } from '../../src/config/paths.js';

function tree(): { cwd: string; home: string; xdg: string; sys: string } {
  const d = mkdtempSync(join(tmpdir(), 'ddns-paths-'));
  const t = { cwd: join(d, 'work'), home: join(d, 'home'), xdg: join(d, 'xdg'), sys: join(d, 'etc-ddns') };
  for (const p of Object.values(t)) mkdirSync(p, { recursive: true });
  return t;
}

test('search order: the working directory, then $XDG_CONFIG_HOME/ddns, then the system directory', async () => {
  const t = tree();
  const env = { HOME: t.home, XDG_CONFIG_HOME: t.xdg };
  const load = () => loadConfig({ cwd: t.cwd, env, systemDir: t.sys });
  writeFileSync(join(t.sys, 'ddns.config.yaml'), 'ip: { quorum: 5 }\n');
  mkdirSync(join(t.xdg, 'ddns'));
  writeFileSync(join(t.xdg, 'ddns', 'config.yaml'), 'ip: { quorum: 4 }\n');
  writeFileSync(join(t.cwd, 'ddns.config.json'), JSON.stringify({ ip: { quorum: 3 } }));

  let r = await load();
  assert.deepEqual([r.config.ip.quorum, r.source], [3, join(t.cwd, 'ddns.config.json')]);
  rmSync(join(t.cwd, 'ddns.config.json'));
  r = await load();
  assert.deepEqual([r.config.ip.quorum, r.source], [4, join(t.xdg, 'ddns', 'config.yaml')]);
  rmSync(join(t.xdg, 'ddns', 'config.yaml'));
  r = await load();
  assert.deepEqual([r.config.ip.quorum, r.source], [5, join(t.sys, 'ddns.config.yaml')]);
  rmSync(join(t.sys, 'ddns.config.yaml'));
  r = await load();
  assert.equal(r.source, undefined);
  assert.equal(r.config.ip.quorum, 2);
});

test('without XDG_CONFIG_HOME (or with a relative one) the user directory is ~/.config/ddns', async () => {
  const t = tree();
  mkdirSync(join(t.home, '.config', 'ddns'), { recursive: true });
  writeFileSync(join(t.home, '.config', 'ddns', 'ddns.config.yml'), 'ip: { quorum: 4 }\n');
  for (const env of [{ HOME: t.home }, { HOME: t.home, XDG_CONFIG_HOME: 'relative/dir' }]) {
    const r = await loadConfig({ cwd: t.cwd, env, systemDir: t.sys });
    assert.equal(r.source, join(t.home, '.config', 'ddns', 'ddns.config.yml'));
  }
  assert.deepEqual(configSearchDirs(t.cwd, { HOME: t.home }), [t.cwd, join(t.home, '.config', 'ddns'), '/etc/ddns']);
});

test('a config directory does not read package.json or .ddnsrc (those belong to a project directory)', async () => {
  const t = tree();
  writeFileSync(join(t.sys, 'package.json'), JSON.stringify({ ddns: { ip: { quorum: 5 } } }));
  writeFileSync(join(t.sys, '.ddnsrc'), '{ "ip": { "quorum": 5 } }');
  const r = await loadConfig({ cwd: t.cwd, env: { HOME: t.home }, systemDir: t.sys });
  assert.equal(r.source, undefined);
});

test('the default state file is $XDG_STATE_HOME/ddns/state.json, else ~/.local/state/ddns/state.json; `state` and DDNS_STATE win', async () => {
  const t = tree();
  assert.equal(defaultStatePath({ HOME: t.home }), join(t.home, '.local', 'state', 'ddns', 'state.json'));
  assert.equal(defaultStatePath({ HOME: t.home, XDG_STATE_HOME: '/var/lib/x' }), '/var/lib/x/ddns/state.json');
  assert.equal(defaultStatePath({ HOME: t.home, XDG_STATE_HOME: 'rel' }), join(t.home, '.local', 'state', 'ddns', 'state.json'));
  const load = (env: NodeJS.ProcessEnv) => loadConfig({ cwd: t.cwd, env: { HOME: t.home, ...env }, systemDir: t.sys });
  assert.equal((await load({ XDG_STATE_HOME: join(t.home, 's') })).config.state, join(t.home, 's', 'ddns', 'state.json'));
  assert.equal((await load({ DDNS_STATE: '/data/state.json' })).config.state, '/data/state.json');
  writeFileSync(join(t.cwd, 'ddns.config.yaml'), 'state: ./here.json\n');
  assert.equal((await load({})).config.state, './here.json');
});
