import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADDRESS_HISTORY_LIMIT, emptyState, noteLanAddress, openStateStore, parseState, recordConfigHash } from '../../src/state/store.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ddns-state-'));
  dirs.push(d);
  return d;
};
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('state store', () => {
  test('a missing file loads as an empty state without a problem', async () => {
    const store = openStateStore(join(tmp(), 'state.json'));
    const { state, problem } = await store.load();
    assert.equal(problem, undefined);
    assert.deepEqual(state.records, {});
    assert.equal(state.version, 1);
  });

  test('save then load round-trips, with mode 0600 and no temp file left', async () => {
    const dir = tmp();
    const store = openStateStore(join(dir, 'state.json'));
    const s = emptyState();
    s.records['noip:x'] = { published: { '4': { address: '44.0.0.2', at: '2026-11-22T05:00:00.000Z' } } };
    await store.save(s);
    const back = await store.load();
    assert.deepEqual(back.state.records, s.records);
    assert.equal(back.state.salt, s.salt);
    assert.equal(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  for (const [what, text] of [
    ['empty', ''],
    ['truncated JSON', '{"version":1,"salt":"0123456789abcdef","records":{'],
    ['not an object', '[1,2,3]'],
    ['garbage bytes', '\u0000\u0001\u0002'],
    ['a wrong version', '{"version":"one","salt":"0123456789abcdef"}'],
  ] as const) {
    test(`a ${what} file is reported, treated as empty and copied aside`, async () => {
      const dir = tmp();
      const path = join(dir, 'state.json');
      writeFileSync(path, text);
      const problems: string[] = [];
      const { state, problem } = await openStateStore(path, { onProblem: (p) => problems.push(p) }).load();
      assert.deepEqual(state.records, {});
      assert.match(problem ?? '', /not valid ddns state/);
      assert.equal(problems.length, 1);
      assert.equal(readFileSync(`${path}.corrupt`, 'utf8'), text);
    });
  }

  test('a file from a newer version is reported and not overwritten by load', async () => {
    const path = join(tmp(), 'state.json');
    writeFileSync(path, '{"version":99,"salt":"0123456789abcdef"}');
    const { problem } = await openStateStore(path).load();
    assert.match(problem ?? '', /newer ddns/);
    assert.equal(readFileSync(path, 'utf8'), '{"version":99,"salt":"0123456789abcdef"}');
  });

  test('a record\'s address history is kept; malformed entries are dropped, at most ADDRESS_HISTORY_LIMIT', async () => {
    const path = join(tmp(), 'state.json');
    const good = { at: '2026-11-20T00:00:00.000Z', family: 4, from: null, to: '44.0.0.2' };
    const many = Array.from({ length: ADDRESS_HISTORY_LIMIT + 3 }, () => ({ ...good, from: '44.0.0.1' }));
    writeFileSync(path, JSON.stringify({
      version: 1, salt: '0123456789abcdef',
      records: {
        a: { history: [good, { ...good, family: 5 }, { ...good, at: 'yesterday' }, { ...good, from: 7 }, { ...good, to: undefined }, 'x'] },
        b: { history: many },
        c: { history: 'nope' },
      },
    }));
    const { state } = await openStateStore(path).load();
    assert.deepEqual(state.records.a?.history, [good]);
    assert.equal(state.records.b?.history?.length, ADDRESS_HISTORY_LIMIT);
    assert.equal(state.records.c?.history, undefined);
  });

  test('invalid entries are dropped and unknown sections survive a save', async () => {
    const path = join(tmp(), 'state.json');
    writeFileSync(path, JSON.stringify({
      version: 1, salt: '0123456789abcdef', future: { x: 1 }, mappings: { 'tcp/2222': { ours: true } },
      records: { good: { hold: { reason: 'badauth', fix: 'f', configHash: 'h', since: 't' } }, bad: 7 },
      lan: { history: [{ address: '192.168.1.50', firstSeen: 'a', lastSeen: 'b' }, { nope: 1 }] },
    }));
    const store = openStateStore(path);
    const { state } = await store.load();
    assert.deepEqual(Object.keys(state.records), ['good']);
    assert.equal(state.lan.history.length, 1);
    await store.save(state);
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(raw.future, { x: 1 });
    assert.deepEqual(raw.mappings, { 'tcp/2222': { ours: true } });
  });

  test('update() keeps what another writer saved in its own section meanwhile', async () => {
    const path = join(tmp(), 'state.json');
    const store = openStateStore(path);
    await store.update((s) => { s.mappings.a = 1; });
    await store.update((s) => { s.records.r = { last: { kind: 'updated', at: 't' } }; });
    const { state } = await store.load();
    assert.deepEqual(state.mappings, { a: 1 });
    assert.deepEqual(Object.keys(state.records), ['r']);
  });

  test('the configuration hash changes with any identity field or the secret, and never contains the secret', () => {
    const salt = 'salt-0123456789';
    const base = recordConfigHash(salt, { hostname: 'a.example.net', username: 'u' }, 'secret-value');
    assert.equal(recordConfigHash(salt, { username: 'u', hostname: 'a.example.net' }, 'secret-value'), base, 'order of fields does not matter');
    assert.notEqual(recordConfigHash(salt, { hostname: 'b.example.net', username: 'u' }, 'secret-value'), base);
    assert.notEqual(recordConfigHash(salt, { hostname: 'a.example.net', username: 'u' }, 'secret-valuf'), base);
    assert.notEqual(recordConfigHash('other-salt-0123', { hostname: 'a.example.net', username: 'u' }, 'secret-value'), base);
    assert.ok(!base.includes('secret'));
  });

  test('LAN sightings extend the last entry while the address stays, and start a new one when it moves', () => {
    const s = emptyState();
    noteLanAddress(s, '192.168.1.50', new Date('2026-11-22T01:00:00Z'));
    noteLanAddress(s, '192.168.1.50', new Date('2026-11-22T02:00:00Z'));
    noteLanAddress(s, '192.168.1.77', new Date('2026-11-22T03:00:00Z'));
    assert.deepEqual(s.lan.history.map((x) => [x.address, x.firstSeen.slice(11, 13), x.lastSeen.slice(11, 13)]), [['192.168.1.50', '01', '02'], ['192.168.1.77', '03', '03']]);
  });

  test('parseState refuses documents that are not ours', () => {
    assert.equal(parseState(null), undefined);
    assert.equal(parseState({ version: 1 }), undefined);
    assert.ok(parseState({ version: 1, salt: '0123456789abcdef' }));
  });

  test('SIGKILL at random points of a write loop always leaves a readable state file', async () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    const stateModule = new URL('../../src/state/store.ts', import.meta.url).href;
    // Each write makes the file a different size (a growing record list), so a torn write cannot parse.
    const code = `
      const { openStateStore, emptyState } = await import(${JSON.stringify(stateModule)});
      const store = openStateStore(${JSON.stringify(path)});
      const s = emptyState('0123456789abcdef');
      for (let i = 0; ; i++) {
        s.records['r' + i] = { published: { '4': { address: '44.0.0.' + (i % 250), at: new Date().toISOString() } }, last: { kind: 'updated', at: 'x'.repeat(i % 997) } };
        await store.save(s);
        if (i === 0) process.stdout.write('ready\\n'); // the first write is on disk: every kill leaves a file
      }`;
    let kills = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`writer exited early (${c})`)));
      });
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 200)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      kills++;
      assert.ok(existsSync(path), `round ${round}: no state file after the first write`);
      const { state, problem } = await openStateStore(path).load();
      assert.equal(problem, undefined, `round ${round}: ${problem}`);
      const keys = Object.keys(state.records);
      assert.ok(keys.length >= 1);
      // A whole document: records r0..rN, none missing, each as written.
      assert.deepEqual(keys.sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))), keys.map((_, i) => `r${i}`));
      for (const [k, r] of Object.entries(state.records)) assert.equal(r.published?.['4']?.address, `44.0.0.${Number(k.slice(1)) % 250}`, `round ${round}: ${k}`);
    }
    assert.equal(kills, 12);
    assert.ok(existsSync(path), 'at least one write completed across the rounds');
  });
});
