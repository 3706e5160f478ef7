#!/usr/bin/env node
// The one test command (README, CI): unit tests in parallel, then the lab suite one file at a time
// (each lab file builds its own network namespaces; two cores do not run several labs well).
// The lab needs root. In CI (CI=true) a missing root is a failure; locally it is skipped with one loud line.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const only = [...args].filter((a) => !a.startsWith('--'));
const wantUnit = !args.has('--lab');
const wantLab = !args.has('--unit');

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out.sort();
}

const all = findTests(join(root, 'test')).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const lab = all.filter((f) => f.startsWith('test/lab/'));
const unit = all.filter((f) => !f.startsWith('test/lab/'));

function run(files, concurrency, timeoutMs) {
  if (files.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...files],
    { cwd: root, stdio: 'inherit', env: process.env },
  );
  return r.status ?? 1;
}

let failed = 0;
if (wantUnit) failed |= run(unit, 2, 60_000);
if (wantLab && lab.length > 0) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot && process.env.CI) {
    console.error('LAB: the lab suite needs root (network namespaces), and CI must run it: failing.');
    failed |= 1;
  } else if (!isRoot) {
    console.error(`\n*** LAB SKIPPED: ${lab.length} lab test files need root (network namespaces). Run as root: sudo npm test ***\n`);
  } else {
    failed |= run(lab, 1, 300_000);
  }
}
process.exit(failed ? 1 : 0);
