/**
 * Cold start: `ddns --version` from the bundle (what users run) vs `node -e 0` (the floor any Node
 * program pays: the target is ≤ 1.5× that), `inadyn --version` (a C binary) and ddclient's cheapest
 * invocation (`ddclient -help`, a Perl interpreter start; it has no --version). Each a fresh process,
 * cold in the sense of a new process (the page cache is warm after the warm-up round), medians of
 * interleaved runs. No lab needed: nothing touches the network.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { interleave, timeMs, type Figure } from './lib/stats.js';

const BUNDLE = fileURLToPath(new URL('../dist/ddns.mjs', import.meta.url));

function run(argv: string[]): () => Promise<number> {
  return () => timeMs(async () => {
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: 'ignore', timeout: 30_000 });
    if (r.error) throw r.error;
  });
}

export async function benchVersion(o: { runs?: number } = {}): Promise<Figure[]> {
  if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first`);
  const ours = run([process.execPath, BUNDLE, '--version']);
  const out: Figure[] = [];
  const runs = o.runs ?? 7;
  const node = await interleave(ours, run([process.execPath, '-e', '0']), { runs: runs + 4 });
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: node.oursMedian, peer: node.peerMedian, peerName: '`node -e 0` (same node)', ratio: node.ratio, target: '≤ 1.5× node -e 0', met: node.ratio <= 1.5, note: `a new process each run, wall time, same node; medians of ${runs + 4} interleaved runs after 1 warm-up; samples ours ${node.ours.map(Math.round).join('/')} node ${node.peer.map(Math.round).join('/')}` });
  const inadyn = await interleave(ours, run(['inadyn', '--version']), { runs });
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: inadyn.oursMedian, peer: inadyn.peerMedian, peerName: 'inadyn --version', ratio: inadyn.ratio, target: '≤ 200 ms (DESIGN start-up budget)', met: inadyn.oursMedian <= 200, note: `a new process each run, wall time; medians of ${runs} interleaved runs after 1 warm-up; samples ours ${inadyn.ours.map(Math.round).join('/')} peer ${inadyn.peer.map(Math.round).join('/')}` });
  const ddclient = await interleave(ours, run(['ddclient', '-help']), { runs });
  out.push({ figure: '`ddns --version`, new process (bundle)', unit: 'ms', ours: ddclient.oursMedian, peer: ddclient.peerMedian, peerName: 'ddclient -help', ratio: ddclient.ratio, target: '≤ 200 ms', met: ddclient.oursMedian <= 200, note: `a new process each run, wall time; medians of ${runs} interleaved runs after 1 warm-up; samples ours ${ddclient.ours.map(Math.round).join('/')} peer ${ddclient.peer.map(Math.round).join('/')}` });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchVersion()) console.log(JSON.stringify(f));
}
