/**
 * `npm run bench` (root, uses the lab): every figure side by side with the tool people use today, in one
 * run on one machine. Prints a table (figure, ours, the peer's, the ratio, the target), writes it as JSON
 * to bench/results/latest.json, and rewrites the README's "Performance" table from it.
 *
 *   npm run bench                 all benchmarks
 *   npm run bench -- quorum map   only those whose name contains one of the words
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figure } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Bench { name: string; run: () => Promise<Figure[]> }

const benches: Bench[] = [
  { name: 'version', run: async () => (await import('./version.js')).benchVersion() },
  { name: 'map (portmap)', run: async () => (await import('./portmap.js')).benchPortmap({ runs: 5 }) },
  { name: 'quorum (ip)', run: async () => (await import('./quorum.js')).benchQuorum() },
  { name: 'check', run: async () => (await import('./check.js')).benchCheck() },
  { name: 'probe (under attack)', run: async () => (await import('./probe.js')).benchProbe() },
  { name: 'tunnel (vs autossh)', run: async () => (await import('./tunnel.js')).benchTunnel() },
  { name: 'daemon (idle run)', run: async () => (await import('./daemon.js')).benchDaemon({ idleSeconds: 60, intervals: 3 }) },
  { name: 'wan change (upnp-only, no router help)', run: async () => (await import('./wanchange.js')).benchWanChange() },
  { name: 'peers (run vs inadyn, ddclient)', run: async () => (await import('./peers.js')).benchPeers() },
  { name: 'peers at their defaults (run vs inadyn, ddclient; 15 min)', run: async () => (await import('./peers.js')).benchPeers({ settings: 'defaults' }) },
];

function fmt(n: number | undefined, unit = ''): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  const a = Math.abs(n);
  const text = a === 0 ? '0' : a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 0.1 ? n.toFixed(2) : n.toPrecision(2);
  return `${text}${unit ? ` ${unit}` : ''}`;
}

function toTable(figures: Figure[]): string[][] {
  return [
    ['figure', 'ours', 'peer', 'peer value', 'ratio', 'target', 'met'],
    ...figures.map((f, i) => [
      `${f.figure}${f.note ? ` [${i + 1}]` : ''}`, fmt(f.ours, f.unit), f.peerName ?? '—', fmt(f.peer, f.unit), f.ratio === undefined || !Number.isFinite(f.ratio) ? '—' : `${fmt(f.ratio)}×`,
      f.target ?? '—', f.met === undefined ? '—' : f.met ? 'yes' : 'NO',
    ]),
  ];
}

/** How each row was measured, numbered as the rows' [n] marks. */
function notes(figures: Figure[]): string[] {
  return figures.flatMap((f, i) => (f.note ? [`${i + 1}. ${f.note}`] : []));
}

function markdown(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head ?? []), line((head ?? []).map(() => '---')), ...body.map(line)].join('\n');
}

function plain(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (the lab builds network namespaces): sudo npm run bench');
    process.exit(2);
  }
  const words = process.argv.slice(2);
  const chosen = benches.filter((b) => words.length === 0 || words.some((w) => b.name.includes(w)));
  console.error('bench: building the bundle (what users run)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

  const started = Date.now();
  // The machine's load during the run (1-minute load average, sampled every 10 s): the figures are
  // ratios measured side by side, but a loaded machine slows process starts and timers; say how loaded.
  const loads: number[] = [loadavg()[0] ?? 0];
  const loadTimer = setInterval(() => loads.push(loadavg()[0] ?? 0), 10_000);
  loadTimer.unref();
  const figures: Figure[] = [];
  const failures: string[] = [];
  for (const b of chosen) {
    const t = Date.now();
    console.error(`bench: ${b.name} …`);
    try {
      const got = await b.run();
      figures.push(...got);
      console.error(`bench: ${b.name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    } catch (err) {
      failures.push(`${b.name}: ${err instanceof Error ? err.message : String(err)}`);
      console.error(`bench: ${b.name} FAILED: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  clearInterval(loadTimer);
  loads.push(loadavg()[0] ?? 0);
  const load = { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / loads.length, samples: loads.length };
  const loadText = `load average (1 min) ${load.min.toFixed(1)}–${load.max.toFixed(1)}, mean ${load.mean.toFixed(1)} over ${load.samples} samples on ${cpus().length} cores`;
  const seconds = (Date.now() - started) / 1000;
  const rows = toTable(figures);
  console.log(plain(rows));
  console.log(`\n${notes(figures).join('\n')}`);
  console.log(`\n${figures.length} figures in ${seconds.toFixed(0)} s on ${machine()}; ${loadText}`);
  if (failures.length) console.log(`failed: ${failures.join('; ')}`);

  const result = { date: new Date().toISOString(), machine: machine(), seconds, load, figures, failures };
  writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

  if (words.length === 0 && failures.length === 0) {
    const readme = new URL('../README.md', import.meta.url);
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- bench:begin -->';
    const end = '<!-- bench:end -->';
    const block = `${begin}\nMeasured by \`sudo npm run bench\` on ${result.date.slice(0, 10)}, ${machine()}, in ${seconds.toFixed(0)} s, ` +
      `${loadText} (other work shared the machine). Each row's note says how it was measured (cold/warm, window, ` +
      `interval, sample or peak, the peer's settings); ratio = ours / peer's, measured side by side in this run:\n\n${markdown(rows)}\n\n` +
      `How each row was measured:\n\n${notes(figures).join('\n')}\n${end}`;
    if (text.includes(begin)) writeFileSync(readme, text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), () => block));
  }
  process.exitCode = failures.length ? 1 : 0;
}

await main();
