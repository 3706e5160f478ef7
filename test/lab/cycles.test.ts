/**
 * Nothing is left behind: 20 consecutive up/down cycles through every scenario, a lab whose owner gets
 * SIGINT, and a lab whose owner is SIGKILLed (the sweeper's case). "Nothing" is checked where a leak would
 * show: namespaces, /etc/netns entries, run directories, processes (by pid and by any command line naming
 * one of our runs), the root namespace's links and nftables ruleset.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { REPO_ROOT, RUNS_DIR, scenarioNames, startLab } from './lab.js';
import { listNamespaces, sweepStale } from './netns.js';
import { run, waitFor } from './sh.js';

const skip = labSkip();

interface Snapshot { netns: string[]; etc: string[]; runs: string[]; cmdlines: string[]; rootLinks: string; rootNft: string }

/** Processes whose command line names a run of `owner` (every lab daemon's argv holds its run dir). */
function processesNaming(marker: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(marker)) out.push(`${p} ${cmd.slice(0, 200)}`);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

async function snapshot(owner: number): Promise<Snapshot> {
  const mine = (n: string) => n.startsWith(`ddl${owner}-`);
  const dir = (d: string) => (existsSync(d) ? readdirSync(d).filter(mine) : []);
  return {
    netns: (await listNamespaces()).filter(mine),
    etc: dir('/etc/netns'),
    runs: dir(RUNS_DIR),
    cmdlines: processesNaming(`ddl${owner}-`),
    rootLinks: (await run(['ip', '-o', 'link', 'show'])).stdout.replace(/\s+link\/.*$/gm, ''),
    rootNft: (await run(['nft', 'list', 'ruleset'])).stdout,
  };
}

function assertClean(before: Snapshot, after: Snapshot, what: string): void {
  assert.deepEqual(after.netns, [], `${what}: namespaces left`);
  assert.deepEqual(after.etc, [], `${what}: /etc/netns entries left`);
  assert.deepEqual(after.runs, [], `${what}: run directories left`);
  assert.deepEqual(after.cmdlines, [], `${what}: processes left`);
  assert.equal(after.rootLinks, before.rootLinks, `${what}: root namespace links changed`);
  assert.equal(after.rootNft, before.rootNft, `${what}: root namespace nftables changed`);
}

/** A process that exists and is not a zombie (a killed daemon waits a moment for its reaper). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pids still running after a bounded wait for them to go. */
async function survivors(pids: number[]): Promise<number[]> {
  try {
    await waitFor('lab processes to exit', 2_000, () => (pids.some(running) ? undefined : true));
  } catch { /* report who is left */ }
  return pids.filter(running);
}

async function pidsIn(hosts: Record<string, string>): Promise<number[]> {
  const pids: number[] = [];
  for (const ns of Object.values(hosts)) {
    pids.push(...(await run(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number));
  }
  return pids;
}

/** Starts child-lab.ts and resolves with its report once its lab is up. */
async function childLab(scenario: string, ...flags: string[]): Promise<{ child: ReturnType<typeof spawn>; report: { id: string; hosts: Record<string, string>; dir: string; pids: number[] } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/lab/child-lab.ts', scenario, ...flags], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('child lab did not come up in 20 s')), 20_000);
    rl.once('line', (l) => { clearTimeout(timer); resolve(l); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child lab exited ${code}`)); });
  });
  return { child, report: JSON.parse(line) as { id: string; hosts: Record<string, string>; dir: string; pids: number[] } };
}

describe('nothing left behind', { skip }, () => {
  test('20 consecutive up/down cycles through every scenario leave nothing behind', async () => {
    const before = await snapshot(process.pid);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const scenario = scenarioNames[i % scenarioNames.length] ?? 'healthy';
      const t0 = Date.now();
      const lab = await startLab(scenario);
      const pids = await pidsIn(lab.hosts);
      assert.ok(pids.length >= (scenario === 'no-portmap' ? 3 : 4), `${scenario}: daemons running (${pids.length})`);
      await lab.down();
      times.push(Date.now() - t0);
      assert.deepEqual(await survivors(pids), [], `cycle ${i} (${scenario}): processes still running`);
      assertClean(before, await snapshot(process.pid), `cycle ${i} (${scenario})`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`# 20 cycles with fixtures: median up+down ${sorted[10]} ms, max ${sorted[19]} ms`);
  });

  test('a lab whose owner gets SIGINT tears down and the owner exits 130', async () => {
    const { child, report } = await childLab('cgnat');
    const before = await snapshot(process.pid);
    assert.equal((await listNamespaces()).includes(report.hosts.lan ?? ''), true);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const owner = Number(/^ddl(\d+)-/.exec(report.id)?.[1]);
    assert.deepEqual(await survivors(report.pids), []);
    assertClean(before, await snapshot(owner), 'after SIGINT');
  });

  test('a lab whose owner dies of an uncaught exception is torn down by the exit handler', async () => {
    const { child, report } = await childLab('double-nat', '--throw');
    const before = await snapshot(process.pid);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    const owner = Number(/^ddl(\d+)-/.exec(report.id)?.[1]);
    assert.deepEqual(await survivors(report.pids), []);
    assertClean(before, await snapshot(owner), 'after the uncaught exception');
  });

  test('the sweeper removes what a SIGKILLed lab owner left: namespaces, processes, /etc/netns, run dir', async () => {
    const { child, report } = await childLab('healthy');
    const before = await snapshot(process.pid);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const owner = Number(/^ddl(\d+)-/.exec(report.id)?.[1]);
    const stale = await snapshot(owner);
    assert.ok(stale.netns.length >= 3, `the killed run left its namespaces (${stale.netns.join(' ')})`);
    const removed = await sweepStale(RUNS_DIR);
    for (const ns of Object.values(report.hosts)) assert.ok(removed.includes(ns), `${ns} swept`);
    // The fixture process may exit on its own when its stdin closes; the daemons would not.
    assert.deepEqual(await survivors(report.pids), []);
    assertClean(before, await snapshot(owner), 'after the sweep');
  });
});
