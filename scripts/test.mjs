#!/usr/bin/env node
// The one test command (README, CI): unit tests in parallel, then the lab suite one file at a time
// (each lab file builds its own network namespaces; two cores do not run several labs well).
// The lab needs root. In CI (CI=true) a missing root is a failure; locally it is skipped with one loud line.
//
//   node scripts/test.mjs [--unit|--lab] [--matrix | --node VERSION]... [FRAGMENT...]
//
// --matrix (what `npm test` and CI run): everything once on each Node.js version of
// scripts/node-versions.txt (the oldest supported major and the image's), official binaries fetched once by
// scripts/node-dist.sh. --node VERSION: on that version only. Neither: on the node running this script.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const nodeVersions = argv.flatMap((a, i) => (argv[i - 1] === '--node' ? [a] : []));
const args = new Set(argv.filter((a, i) => argv[i - 1] !== '--node'));
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

/** The node binaries to run the tests on: [{ label, bin }]. */
function nodes() {
  const wanted = args.has('--matrix') ? [] : nodeVersions;
  if (!args.has('--matrix') && wanted.length === 0) return [{ label: `this node (${process.version})`, bin: process.execPath }];
  const r = spawnSync('bash', [join(root, 'scripts/node-dist.sh'), ...wanted], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    console.error('test: could not get the Node.js versions to test on (scripts/node-dist.sh failed)');
    process.exit(1);
  }
  return r.stdout.trim().split('\n').map((dir) => ({ label: `Node.js ${basename(dirname(dir))}`, bin: join(dir, 'node') }));
}

function run(node, files, concurrency, timeoutMs, { isolate }) {
  if (files.length === 0) return 0;
  const argv = [node.bin, '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...files];
  const [cmd, ...rest] = isolate ? isolated(argv) : argv;
  // The tested node first on PATH too: a test that spawns `node` gets the same version.
  const env = { ...process.env, PATH: `${dirname(node.bin)}${delimiter}${process.env.PATH ?? ''}` };
  const r = spawnSync(cmd, rest, { cwd: root, stdio: 'inherit', env });
  return r.status ?? 1;
}

const isRoot = process.getuid?.() === 0;
const runLab = wantLab && lab.length > 0;
let failed = 0;
if (runLab && !isRoot && process.env.CI) {
  console.error('LAB: the lab suite needs root (network namespaces), and CI must run it: failing.');
  process.exit(1);
}
for (const node of nodes()) {
  const t0 = Date.now();
  console.log(`\n=== ${node.label}: ${[wantUnit && `${unit.length} unit`, runLab && `${lab.length} lab`].filter(Boolean).join(' + ')} test files ===`);
  // The timeout is a hang guard for a whole file, never a speed bound: the suite must pass on a loaded machine.
  if (wantUnit) failed |= run(node, unit, 2, 300_000, { isolate: true });
  if (runLab && !isRoot) {
    console.error(`\n*** LAB SKIPPED: ${lab.length} lab test files need root (network namespaces). Run npm test as root. ***\n`);
  } else if (runLab) {
    // The lab builds its own isolated namespaces (linked only to each other) and needs the root one.
    // A lab file starts ddns from source many times (the SIGKILL loop: 21 starts); at load 25 one took over
    // 300 s, so its hang guard is 900 s.
    failed |= run(node, lab, 1, 900_000, { isolate: false });
  }
  console.log(`=== ${node.label}: ${failed ? 'FAILED so far' : 'passed'} in ${((Date.now() - t0) / 1000).toFixed(0)} s ===`);
}
process.exit(failed ? 1 : 0);
