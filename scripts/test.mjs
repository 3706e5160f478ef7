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

/**
 * Unit tests run in a network namespace of their own with only loopback, so that no test (nor a CLI
 * child it spawns, nor a DNS lookup through the machine's resolver) can send a packet off this machine.
 * As root: `unshare --net`; otherwise an unprivileged user namespace when the kernel allows one.
 */
function isolated(argv) {
  const probe = (pre) => spawnSync(pre[0], [...pre.slice(1), 'true'], { stdio: 'ignore' }).status === 0;
  const pre = process.getuid?.() === 0 ? ['unshare', '--net', '--'] : ['unshare', '--user', '--map-root-user', '--net', '--'];
  if (!probe(pre)) {
    console.error('test: cannot make an isolated network namespace (unshare); unit tests run without that safety net');
    return argv;
  }
  return [...pre, 'sh', '-c', 'ip link set lo up 2>/dev/null || true; exec "$@"', 'sh', ...argv];
}

function run(files, concurrency, timeoutMs, { isolate }) {
  if (files.length === 0) return 0;
  const argv = [process.execPath, '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...files];
  const [cmd, ...args] = isolate ? isolated(argv) : argv;
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status ?? 1;
}

let failed = 0;
if (wantUnit) failed |= run(unit, 2, 60_000, { isolate: true });
if (wantLab && lab.length > 0) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot && process.env.CI) {
    console.error('LAB: the lab suite needs root (network namespaces), and CI must run it: failing.');
    failed |= 1;
  } else if (!isRoot) {
    console.error(`\n*** LAB SKIPPED: ${lab.length} lab test files need root (network namespaces). Run npm test as root. ***\n`);
  } else {
    // The lab builds its own isolated namespaces (linked only to each other) and needs the root one.
    failed |= run(lab, 1, 300_000, { isolate: false });
  }
}
process.exit(failed ? 1 : 0);
