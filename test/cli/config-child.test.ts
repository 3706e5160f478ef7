/**
 * `ddns run` loads its configuration in a child process (src/cli/config-child.ts): the same config, the
 * same configuration errors (message and exit code 2) as loading in-process, and a clear error when the
 * child dies or never answers.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadInChild } from '../../src/cli/config-child.js';
import { loadHere } from '../../src/cli/config-load.js';
import { CliError } from '../../src/cli/context.js';

const root = resolve(import.meta.dirname, '../..');
const ddns = { execPath: process.execPath, args: ['--import', 'tsx', join(root, 'src/cli/main.ts')] };
const dir = mkdtempSync(join(tmpdir(), 'ddns-config-child-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a valid config comes back as the in-process load gives it, secrets included, with its file', async () => {
  const file = join(dir, 'good.yaml');
  writeFileSync(join(dir, 'duck.token'), 'child-duck-token-0123\n');
  writeFileSync(file, [
    'records:',
    '  - provider: duckdns',
    '    domains: [home]',
    `    tokenFile: ${join(dir, 'duck.token')}`,
    'forwards:',
    '  - { internalPort: 22, externalPort: 2222 }',
    'daemon: { interval: 120 }',
    `state: ${join(dir, 'state.json')}`,
  ].join('\n'));
  const here = await loadHere(file);
  const there = await loadInChild(file, { command: ddns });
  assert.deepEqual(there, here);
  assert.equal(there.source, file);
  assert.equal((there.config.records[0] as { token?: string }).token, 'child-duck-token-0123');
});

test('an invalid config is the same CliError (exit code 2, every problem) as in-process', async () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ records: [{ provider: 'duckdns', domains: ['x'], token: '' }], daemon: { interval: 1 } }));
  const here = await loadHere(file).then(() => assert.fail('loaded'), (err: unknown) => err);
  const there = await loadInChild(file, { command: ddns }).then(() => assert.fail('loaded'), (err: unknown) => err);
  assert.ok(there instanceof CliError && here instanceof CliError);
  assert.equal(there.code, 2);
  assert.equal(there.message, here.message);
  assert.match(there.message, /records\[0\]\.token/);
  assert.match(there.message, /daemon\.interval/);
  const missing = await loadInChild(join(dir, 'nothere.json'), { command: ddns }).then(() => assert.fail('loaded'), (err: unknown) => err);
  assert.ok(missing instanceof CliError);
  assert.equal(missing.code, 2);
  assert.match(missing.message, /cannot read .*nothere\.json: no such file/);
});

test('a child that exits without answering, or never answers, is an error saying so', async () => {
  await assert.rejects(loadInChild(undefined, { command: { execPath: process.execPath, args: ['-e', 'process.exit(3)', '--'] } }),
    (err: Error) => !(err instanceof CliError) && /exited with code 3 before answering/.test(err.message));
  await assert.rejects(loadInChild(undefined, { command: { execPath: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', '--'] }, timeoutMs: 300 }),
    (err: Error) => /did not answer within 0\.3 s/.test(err.message));
});
