/**
 * Port mapping, side by side in the lab's healthy network (miniupnpd in a namespace): `ddns map list`
 * vs `upnpc -l`, and `ddns map add` vs `upnpc -a`, each run inside the LAN host the same way
 * (`ip netns exec`), medians of interleaved runs. ddns runs from a fresh esbuild bundle (what users run).
 * Targets (docs/protocols.md, "The miniupnp tools as comparators"): cold `ddns map list --all` (empty
 * ledger: SSDP) ≤ 0.12× `upnpc -l` (upnpc waits a fixed 2 s for SSDP replies); warm (the ledger's
 * description URL) ≤ 1.0× `upnpc -u URL -l` (no discovery either).
 *
 *   tsx bench/portmap.ts [--runs N]      (root: the lab needs network namespaces)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleave, timeMs, type Figure } from './lib/stats.js';
import { startLab, type Lab } from '../test/lab/lab.js';
import { imageNode } from './daemon.js';

async function bundle(): Promise<{ entry: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-bench-'));
  const { build } = (await import(new URL('../scripts/build.mjs', import.meta.url).href)) as { build: (o: { outdir: string; minify: boolean }) => Promise<{ entry: string }> };
  const r = await build({ outdir: dir, minify: true });
  return { entry: r.entry, dir };
}

function inLan(lab: Lab, argv: string[], env: Record<string, string> | (() => Record<string, string>), expect: RegExp): () => Promise<number> {
  return () => timeMs(async () => {
    const r = await lab.exec('lan', argv, { timeoutMs: 30_000, env: typeof env === 'function' ? env() : env });
    if (!expect.test(r.stdout + r.stderr)) throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${(r.stdout + r.stderr).slice(0, 400)}`);
  });
}

export async function benchPortmap(o: { runs?: number } = {}): Promise<Figure[]> {
  const runs = Math.max(5, o.runs ?? 7);
  const b = await bundle();
  const lab = await startLab('healthy', { fixtures: false });
  try {
    const env = { DDNS_PORTMAP_LEDGER: join(lab.dir, 'bench-ledger.json') };
    // ddns on the Node the image runs (a supported one: Node 22.1+ also has the compile cache ddns turns on).
    const node = imageNode();
    const ddns = (...args: string[]) => [node.path, b.entry, ...args];
    const on = `ddns on Node ${node.version}${node.asImage ? " (the image's)" : ''}, its compile cache warm from the warm-up run`;
    const upnpc = (...args: string[]) => ['upnpc', '-m', lab.lanIf, ...args];
    // A realistic table: a few mappings from both clients.
    for (const p of [1, 2, 3]) await inLan(lab, ddns('map', 'add', String(2400 + p), '--external', String(8400 + p), '--lease', '3600'), env, /mapped/)();
    await inLan(lab, upnpc('-e', 'bench', '-a', lab.addr.lan4, '2410', '8410', 'TCP', '3600'), env, /is redirected/)();

    // Cold: ddns with an empty ledger every run (no remembered description URL: SSDP, as upnpc -l does).
    let fresh = 0;
    const coldEnv = () => ({ DDNS_PORTMAP_LEDGER: join(lab.dir, `bench-cold-ledger-${++fresh}.json`) });
    const cold = await interleave(
      inLan(lab, ddns('map', 'list', '--all'), coldEnv, /8410/),
      inLan(lab, upnpc('-l'), env, /8410/),
      { runs },
    );
    // Warm: ddns with the description URL its ledger remembers; upnpc given the same URL (-u), both skip SSDP.
    const rootDesc = `http://${lab.addr.router4}:5000/rootDesc.xml`;
    const list = await interleave(
      inLan(lab, ddns('map', 'list', '--all'), env, /8410/),
      inLan(lab, upnpc('-u', rootDesc, '-l'), env, /8410/),
      { runs },
    );
    const add = await interleave(
      inLan(lab, ddns('map', 'add', '2420', '--external', '8420', '--lease', '3600'), env, /mapped/),
      inLan(lab, upnpc('-e', 'bench', '-a', lab.addr.lan4, '2421', '8421', 'TCP', '3600'), env, /is redirected/),
      { runs },
    );
    // NAT-PMP: `ddns map add --via natpmp` vs libnatpmp's natpmpc (which asks for the public address first).
    const natpmp = await interleave(
      inLan(lab, ddns('map', 'add', '2430', '--external', '8430', '--lease', '3600', '--via', 'natpmp'), env, /mapped/),
      inLan(lab, ['natpmpc', '-g', lab.addr.router4, '-a', '8431', '2431', 'tcp', '3600'], env, /Mapped public port/),
      { runs },
    );
    return [
      { figure: '`ddns map add --via natpmp` vs `natpmpc -a` (lab)', unit: 'ms', ours: natpmp.oursMedian, peer: natpmp.peerMedian, peerName: 'natpmpc -a', ratio: natpmp.ratio, note: `new process each run, ${on}, no discovery on either side (NAT-PMP goes to the gateway); medians of ${runs} interleaved runs after 1 warm-up; samples ours ${natpmp.ours.map(Math.round).join('/')} natpmpc ${natpmp.peer.map(Math.round).join('/')}` },
      { figure: '`ddns map list --all` vs `upnpc -l`, cold (lab, 4 mappings)', unit: 'ms', ours: cold.oursMedian, peer: cold.peerMedian, peerName: 'upnpc -l', ratio: cold.ratio, target: '≤ 0.12× upnpc -l', met: cold.ratio <= 0.12, note: `new process each run, ${on}, both discover the router by SSDP (ddns with an empty ledger: SSDP, description, then IGD2 GetListOfPortMappings; upnpc waits its fixed 2 s); medians of ${runs} interleaved runs after 1 warm-up; samples ours ${cold.ours.map(Math.round).join('/')} upnpc ${cold.peer.map(Math.round).join('/')}` },
      { figure: '`ddns map list --all` vs `upnpc -u URL -l`, warm (lab, 4 mappings)', unit: 'ms', ours: list.oursMedian, peer: list.peerMedian, peerName: 'upnpc -u URL -l', ratio: list.ratio, target: '≤ 1.0× upnpc -u URL -l', met: list.ratio <= 1.0, note: `new process each run, ${on}, neither discovers: ddns lists from the WAN service its ledger remembers (no description fetched; 2 GetListOfPortMappings at once), upnpc is given the description URL (-u ${rootDesc}: description, then one GetGenericPortMappingEntry per mapping); medians of ${runs} interleaved runs after 1 warm-up; samples ours ${list.ours.map(Math.round).join('/')} upnpc ${list.peer.map(Math.round).join('/')}` },
      { figure: '`ddns map add` vs `upnpc -a` (lab)', unit: 'ms', ours: add.oursMedian, peer: add.peerMedian, peerName: 'upnpc -a', ratio: add.ratio, note: `new process each run, ${on}; ddns warm (ledger URL), upnpc cold (SSDP, fixed 2 s wait); medians of ${runs} interleaved runs; samples ours ${add.ours.map(Math.round).join('/')} upnpc ${add.peer.map(Math.round).join('/')}` },
    ];
  } finally {
    await lab.down();
    rmSync(b.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--runs');
  const figures = await benchPortmap(i > 0 ? { runs: Number(process.argv[i + 1]) } : {});
  for (const f of figures) {
    console.log(`${f.figure}: ours ${f.ours.toFixed(0)} ms, ${f.peerName} ${f.peer?.toFixed(0)} ms, ratio ${f.ratio?.toFixed(3)}${f.target ? ` (target ${f.target}: ${f.met ? 'met' : 'NOT met'})` : ''}`);
    if (f.note) console.log(`  ${f.note}`);
  }
}
