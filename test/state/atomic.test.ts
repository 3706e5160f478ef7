import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/state/atomic.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'atomic-'));

test('writeJsonAtomic writes indented JSON, mode 0600 even under a permissive umask, in a 0700 directory it creates', async () => {
  const dir = scratch();
  const old = process.umask(0);
  try {
    const path = join(dir, 'sub', 'f.json');
    await writeJsonAtomic(path, { a: 1 });
    assert.equal(readFileSync(path, 'utf8'), '{\n  "a": 1\n}\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['f.json'], 'no temp file left');
  } finally { process.umask(old); rmSync(dir, { recursive: true, force: true }); }
});

test('a symlink planted at the temp name makes the write fail, and its target is untouched', async () => {
  const dir = scratch();
  try {
    const path = join(dir, 'f.json');
    writeFileSync(join(dir, 'victim'), 'precious');
    symlinkSync(join(dir, 'victim'), join(dir, '.f.json.fixed.tmp'));
    await assert.rejects(writeFileAtomic(path, 'x', { random: () => 'fixed' }), /EEXIST/);
    assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'precious');
    assert.ok(lstatSync(join(dir, '.f.json.fixed.tmp')).isSymbolicLink(), 'a file we did not create is not removed');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a symlink at the target is replaced by a regular file, never written through', async () => {
  const dir = scratch();
  try {
    writeFileSync(join(dir, 'victim'), 'precious');
    symlinkSync(join(dir, 'victim'), join(dir, 'f.json'));
    await writeFileAtomic(join(dir, 'f.json'), 'new');
    assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'precious');
    assert.ok(lstatSync(join(dir, 'f.json')).isFile());
    assert.equal(readFileSync(join(dir, 'f.json'), 'utf8'), 'new');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('temp files older than a minute are swept, a young one (a live writer) is kept', async () => {
  const dir = scratch();
  try {
    const old = join(dir, '.f.json.dead.tmp');
    const young = join(dir, '.f.json.live.tmp');
    writeFileSync(old, 'x');
    writeFileSync(young, 'x');
    const past = new Date(Date.now() - 120_000);
    utimesSync(old, past, past);
    await writeFileAtomic(join(dir, 'f.json'), 'y');
    assert.deepEqual(readdirSync(dir).sort(), ['.f.json.live.tmp', 'f.json']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
