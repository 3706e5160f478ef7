/**
 * Cold start: `ddns --version` from the bundle (what users run) vs `inadyn --version` (a C binary) and
 * ddclient's cheapest invocation (`ddclient -help`, a Perl interpreter start; it has no --version).
 * No lab needed: nothing touches the network.
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
  const inadyn = await interleave(ours, run(['inadyn', '--version']), { runs: o.runs ?? 7 });
  out.push({ figure: 'cold `ddns --version`', unit: 'ms', ours: inadyn.oursMedian, peer: inadyn.peerMedian, peerName: 'inadyn --version', ratio: inadyn.ratio, target: '≤ 200 ms (DESIGN start-up budget)', met: inadyn.oursMedian <= 200 });
  const ddclient = await interleave(ours, run(['ddclient', '-help']), { runs: o.runs ?? 7 });
  out.push({ figure: 'cold `ddns --version`', unit: 'ms', ours: ddclient.oursMedian, peer: ddclient.peerMedian, peerName: 'ddclient -help', ratio: ddclient.ratio, target: '≤ 200 ms', met: ddclient.oursMedian <= 200 });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchVersion()) console.log(JSON.stringify(f));
}
