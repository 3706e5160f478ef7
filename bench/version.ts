/**
 * Cold start: `ddns --version` from the bundle (what users run) vs `node -e 0` (the floor any Node
 * program pays: the target is ≤ 1.5× that), `inadyn --version` (a C binary) and ddclient's cheapest
 * invocation (`ddclient -help`, a Perl interpreter start; it has no --version). Each a fresh process,
 * cold in the sense of a new process (the page cache is warm after the warm-up round), medians of
 * interleaved runs. The row against `node -e 0` takes 41 pairs after 3 warm-up pairs (both starts are ~0.1 s
 * and the machine is shared: a few slow samples must not decide it), and its note gives the interquartile
 * ranges and the CPU time of both (a busy core delays wall time, not CPU time). No lab needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { interleave, timeMs, type Figure } from './lib/stats.js';

const BUNDLE = fileURLToPath(new URL('../dist/ddns.mjs', import.meta.url));

/** CPU time (user + sys, ms) of this process's waited-for children so far: /proc/self/stat cutime + cstime, at 100 ticks/s. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** A command run as a new process, timed (wall); its CPU time is added to `cpu.ms` (with `cpu.runs`). */
function run(argv: string[], cpu?: { ms: number; runs: number }): () => Promise<number> {
  return () => timeMs(async () => {
    const before = cpu ? childrenCpuMs() : 0;
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: 'ignore', timeout: 30_000 });
    if (r.error) throw r.error;
    if (cpu) { cpu.ms += childrenCpuMs() - before; cpu.runs += 1; }
  });
}

export async function benchVersion(o: { runs?: number; nodeRuns?: number } = {}): Promise<Figure[]> {
  if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first`);
  const ours = run([process.execPath, BUNDLE, '--version']);
  const out: Figure[] = [];
  const runs = o.runs ?? 7;
  // The ratio to `node -e 0` is the one target near its floor (both ~0.1 s, on a shared machine): many
  // interleaved pairs, medians, and the CPU time beside the wall time (CPU does not wait for a busy core).
  const nodeRuns = o.nodeRuns ?? 41;
  const warmup = 3;
  const cpuOurs = { ms: 0, runs: 0 };
  const cpuNode = { ms: 0, runs: 0 };
  const node = await interleave(run([process.execPath, BUNDLE, '--version'], cpuOurs), run([process.execPath, '-e', '0'], cpuNode), { runs: nodeRuns, warmup });
  const cpuText = `CPU (user+sys, mean over all ${cpuOurs.runs} runs each incl. warm-up) ours ${(cpuOurs.ms / cpuOurs.runs).toFixed(1)} ms vs node ${(cpuNode.ms / cpuNode.runs).toFixed(1)} ms = ${((cpuOurs.ms / cpuOurs.runs) / (cpuNode.ms / cpuNode.runs)).toFixed(2)}×`;
  const quart = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return `${Math.round(s[Math.floor(s.length / 4)] ?? 0)}–${Math.round(s[Math.floor((3 * s.length) / 4)] ?? 0)}`; };
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: node.oursMedian, peer: node.peerMedian, peerName: '`node -e 0` (same node)', ratio: node.ratio, target: '≤ 1.5× node -e 0', met: node.ratio <= 1.5, note: `a new process each run, wall time, same node (${process.version}); medians of ${nodeRuns} interleaved pairs after ${warmup} warm-up pairs; interquartile range ours ${quart(node.ours)} ms, node ${quart(node.peer)} ms; ${cpuText}` });
  const inadyn = await interleave(ours, run(['inadyn', '--version']), { runs });
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: inadyn.oursMedian, peer: inadyn.peerMedian, peerName: 'inadyn --version', ratio: inadyn.ratio, target: '≤ 200 ms (DESIGN start-up budget)', met: inadyn.oursMedian <= 200, note: `a new process each run, wall time; medians of ${runs} interleaved runs after 1 warm-up; samples ours ${inadyn.ours.map(Math.round).join('/')} peer ${inadyn.peer.map(Math.round).join('/')}` });
  const ddclient = await interleave(ours, run(['ddclient', '-help']), { runs });
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: ddclient.oursMedian, peer: ddclient.peerMedian, peerName: 'ddclient -help', ratio: ddclient.ratio, target: '≤ 200 ms', met: ddclient.oursMedian <= 200, note: `a new process each run, wall time; medians of ${runs} interleaved runs after 1 warm-up; samples ours ${ddclient.ours.map(Math.round).join('/')} peer ${ddclient.peer.map(Math.round).join('/')}` });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchVersion()) console.log(JSON.stringify(f));
}
