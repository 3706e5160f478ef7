#!/usr/bin/env node
// The one test command (README, CI): the unit tests (two files at a time) on each Node.js version, then the
// lab: every (version, lab file) pair, --lab-jobs of them at a time (default 2). Lab files build their own
// network namespaces with per-pid names and coexist, and they mostly wait on real daemons, so two at once
// halve the lab's wall time on two cores. Each lab file's output is printed in one piece when it ends,
// headed by its duration; a summary of all files closes the run.
// The lab needs root. In CI (CI=true) a missing root is a failure; locally it is skipped with one loud line.
//
//   node scripts/test.mjs [--unit|--lab] [--matrix | --node VERSION]... [--lab-jobs N] [FRAGMENT...]
//
// --matrix (what `npm test` and CI run): everything once on each Node.js version of
// scripts/node-versions.txt (the oldest supported major and the image's), official binaries fetched once by
// scripts/node-dist.sh. --node VERSION: on that version only. Neither: on the node running this script.
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const valued = new Set(['--node', '--lab-jobs']);
const valuesOf = (flag) => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));
const nodeVersions = valuesOf('--node');
const labJobs = Number(valuesOf('--lab-jobs').at(-1) ?? 2);
if (!Number.isInteger(labJobs) || labJobs < 1) {
  console.error(`test: --lab-jobs wants a whole number ≥ 1, not ${valuesOf('--lab-jobs').at(-1)}`);
  process.exit(2);
}
const args = new Set(argv.filter((a, i) => !valued.has(argv[i - 1])));
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

/** The test command for `files` on `node` (the tested node first on PATH too: a test that spawns `node` gets the same version). */
function command(node, files, concurrency, timeoutMs, { isolate, reporter }) {
  const argv = [node.bin, '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`,
    ...(reporter ? [`--test-reporter=${reporter}`] : []), ...files];
  const [cmd, ...rest] = isolate ? isolated(argv) : argv;
  const env = { ...process.env, PATH: `${dirname(node.bin)}${delimiter}${process.env.PATH ?? ''}` };
  return { cmd, rest, env };
}

function runUnit(node, files) {
  if (files.length === 0) return 0;
  // The timeout is a hang guard for a whole file, never a speed bound: the suite must pass on a loaded machine.
  const { cmd, rest, env } = command(node, files, 2, 300_000, { isolate: true });
  return spawnSync(cmd, rest, { cwd: root, stdio: 'inherit', env }).status ?? 1;
}

/**
 * One lab file on one node, its output (stdout and stderr as they came) kept and printed in one piece
 * when it ends, so that two files running at once never interleave their lines.
 * Resolves { code, seconds }.
 */
function runLabFile(node, file) {
  // The lab builds its own isolated namespaces (linked only to each other) and needs the root one.
  // A lab file starts ddns from source many times (the SIGKILL loop: 21 starts); at load 25 one took over
  // 300 s, so the hang guard per test is 900 s.
  const { cmd, rest, env } = command(node, [file], 1, 900_000, { isolate: false, reporter: 'spec' });
  const t0 = Date.now();
  return new Promise((resolve) => {
    const chunks = [];
    const child = spawn(cmd, rest, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    let ended = false;
    const end = (code, signal) => {
      if (ended) return;
      ended = true;
      const seconds = (Date.now() - t0) / 1000;
      const status = code === 0 ? 'passed' : `FAILED (${signal ?? `exit ${code}`})`;
      process.stdout.write(`\n--- lab ${file} on ${node.label}: ${status} in ${seconds.toFixed(1)} s ---\n`);
      process.stdout.write(Buffer.concat(chunks));
      resolve({ code: code === 0 ? 0 : 1, seconds });
    };
    // A child that cannot start emits 'error' and maybe no 'close'.
    child.on('error', (err) => { chunks.push(Buffer.from(`test: cannot start ${cmd}: ${err.message}\n`)); end(null, null); });
    child.on('close', end);
  });
}

/** Runs the jobs (functions returning promises) `width` at a time, in order; resolves their results in order. */
async function pool(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

const isRoot = process.getuid?.() === 0;
const runLab = wantLab && lab.length > 0;
let failed = 0;
if (runLab && !isRoot && process.env.CI) {
  console.error('LAB: the lab suite needs root (network namespaces), and CI must run it: failing.');
  process.exit(1);
}
const summary = [];
const t0 = Date.now();
const matrix = nodes();
if (wantUnit) {
  for (const node of matrix) {
    const t = Date.now();
    console.log(`\n=== ${node.label}: ${unit.length} unit test files ===`);
    const code = runUnit(node, unit);
    failed |= code;
    const line = `${node.label}: ${unit.length} unit test files ${code ? 'FAILED' : 'passed'} in ${((Date.now() - t) / 1000).toFixed(0)} s`;
    console.log(`=== ${line} ===`);
    summary.push(line);
  }
}
if (runLab && !isRoot) {
  console.error(`\n*** LAB SKIPPED: ${lab.length} lab test files need root (network namespaces). Run npm test as root. ***\n`);
} else if (runLab) {
  // Every version's files in turn; with two at a time the slow files of one version run beside others.
  const jobs = matrix.flatMap((node) => lab.map((file) => ({ node, file })));
  const t = Date.now();
  console.log(`\n=== lab: ${lab.length} test files on ${matrix.map((n) => n.label).join(' and ')}, ${labJobs} at a time ===`);
  const results = await pool(jobs.map(({ node, file }) => () => runLabFile(node, file)), labJobs);
  const wall = (Date.now() - t) / 1000;
  for (const node of matrix) {
    const mine = jobs.map((j, i) => ({ ...j, ...results[i] })).filter((r) => r.node === node);
    const bad = mine.filter((r) => r.code !== 0);
    failed |= bad.length ? 1 : 0;
    summary.push(`${node.label}: ${mine.length} lab test files ${bad.length ? `FAILED (${bad.map((r) => r.file).join(', ')})` : 'passed'}, ${mine.reduce((a, r) => a + r.seconds, 0).toFixed(0)} s of lab time`);
    for (const r of [...mine].sort((a, b) => b.seconds - a.seconds)) summary.push(`  ${r.seconds.toFixed(1).padStart(6)} s  ${r.code ? 'FAILED' : 'ok    '}  ${r.file}`);
  }
  summary.push(`lab: ${wall.toFixed(0)} s wall time, ${labJobs} file(s) at a time`);
}
console.log(`\n=== summary (${((Date.now() - t0) / 1000).toFixed(0)} s in all) ===\n${summary.join('\n')}`);
process.exit(failed ? 1 : 0);
