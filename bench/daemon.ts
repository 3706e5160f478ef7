/**
 * Idle `ddns run` (the bundle) in the lab.
 *
 * A. As the image runs it (issue 14): one record (DuckDNS) and one forward kept on the real router, the
 *    image's Node (Dockerfile NODE_VERSION, from /opt/ddns-node/<version> when installed, else this
 *    node — the row says which), with the node options of the Dockerfile's ENTRYPOINT and the NODE_… and
 *    MALLOC_… variables of its ENV (imageRun), no compile cache (the image's read-only root), the default
 *    interval (300 s). Idle for `idleSeconds` after the first cycle; memory is VmRSS at the end
 *    (the issue's target: RSS after 60 s) and VmHWM (the peak since start) beside it, CPU is ticks over the window.
 * B. Request rates, measured over ≥ 3 whole intervals: three records (No-IP, DuckDNS, Cloudflare) at the
 *    shortest interval the config allows (30 s) for `intervals` × 30 s. Echo requests per confirmation are
 *    counted over the confirmations in that window and scaled to the default interval ("computed from N
 *    measured confirmations"); provider requests in the window are counted as they are.
 *
 *   tsx bench/daemon.ts              (root; builds the bundle if it is missing)
 *   tsx bench/daemon.ts --idle-only  (part A alone: the idle RSS, VmHWM and CPU rows)
 */
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestLogEntry } from '../test/fixtures/types.js';
import { startLab } from '../test/lab/lab.js';
import type { Figure } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/ddns.mjs');
const NOIP_PW = 'bench-noip-Password-7';
const DUCK_TOKEN = 'bench-duck-token-81fe22c3';
const CF_TOKEN = 'benchCloudflareTokenAbcdefghijkl9';
const ZONE_ID = 'bb00bb11cc22dd33ee44ff5566778899';
const DEFAULT_INTERVAL_S = 300;
const BENCH_INTERVAL_S = 30;

/** The Node the image runs (Dockerfile's NODE_VERSION), when installed here; else this one. */
export function imageNode(): { path: string; version: string; asImage: boolean } {
  const m = /^ARG NODE_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const path = m ? `/opt/ddns-node/${m[1]}/bin/node` : '';
  return m && existsSync(path) ? { path, version: `v${m[1]}`, asImage: true } : { path: process.execPath, version: process.version, asImage: false };
}

/**
 * How the image starts ddns, read from the Dockerfile: the node options of its exec-form ENTRYPOINT
 * (`["node", …options, "/app/ddns.mjs"]`) and the variables its ENV sets for Node and glibc (NODE_*,
 * MALLOC_*; the DDNS_* settings stay the bench's own). The image's read-only root (compose.yaml) leaves
 * Node no compile cache, so the bench turns it off too (ddns would otherwise keep one in root's home).
 */
export function imageRun(): { nodeArgs: string[]; env: Record<string, string>; text: string } {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  const argv = entry ? (JSON.parse(entry[1] as string) as string[]) : [];
  if (argv[0] !== 'node' || argv.at(-1) !== '/app/ddns.mjs') throw new Error(`bench: the Dockerfile's ENTRYPOINT is not ["node", …, "/app/ddns.mjs"]: ${entry?.[1] ?? 'none'}`);
  const nodeArgs = argv.slice(1, -1);
  const env: Record<string, string> = {};
  for (const line of dockerfile.split('\n').filter((l) => /^ENV\s/.test(l))) {
    for (const m of line.matchAll(/\b((?:NODE|MALLOC)_[A-Z_]*)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  }
  env.NODE_DISABLE_COMPILE_CACHE = '1';
  const text = `the image's command line (node ${nodeArgs.join(' ') || '(no options)'}), ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  return { nodeArgs, env, text };
}

const isProvider = (e: RequestLogEntry) => e.service === 'dyndns2' || e.service === 'duckdns' || e.service === 'cloudflare';
const isEcho = (e: RequestLogEntry) =>
  e.service === 'echo' || e.method === 'BINDING' || (e.method === 'QUERY' && /myip\.opendns\.com|o-o\.myaddr|whoami\.cloudflare/i.test(e.path));

interface ProcSample { rssKiB: number; hwmKiB: number; cpuTicks: number }

function sample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
      hwmKiB: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

async function ensureBundle(): Promise<void> {
  if (existsSync(BUNDLE)) return;
  const { build } = (await import(join(ROOT, 'scripts/build.mjs'))) as { build: (o?: object) => Promise<unknown> };
  await build();
}

export interface DaemonBenchOptions {
  idleSeconds?: number;
  intervals?: number;
  /** Part A only (the idle RSS/HWM/CPU rows): `tsx bench/daemon.ts --idle-only`. */
  idleOnly?: boolean;
  log?: (s: string) => void;
}

export async function benchDaemon(o: DaemonBenchOptions = {}): Promise<Figure[]> {
  await ensureBundle();
  const say = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const idleSeconds = o.idleSeconds ?? 60;
  const intervals = Math.max(3, o.intervals ?? 3);
  const node = imageNode();
  const lab = await startLab('healthy', { ipv6: false });
  try {
    const net = lab.internet;
    if (!net) throw new Error('the lab fixtures did not start');
    await net.configure({
      dyndns2: { accounts: { benchuser: { password: NOIP_PW, hostnames: ['bench.ddns.net'] } } },
      duckdns: { tokens: { [DUCK_TOKEN]: ['benchhome'] } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } },
    });
    let phase = 0;
    const NAMES = ['bench.ddns.net', 'benchhome.duckdns.org', 'bench.example.com'];
    const ALL = [
      { provider: 'noip', hostname: 'bench.ddns.net', username: 'benchuser', password: NOIP_PW },
      { provider: 'duckdns', domains: ['benchhome'], token: DUCK_TOKEN },
      { provider: 'cloudflare', zone: 'example.com', name: 'bench.example.com', apiToken: CF_TOKEN, create: true },
    ];
    let names = NAMES;
    const writeConf = (interval: number, records: object[]): string => {
      const file = join(lab.dir, `bench-daemon-${interval}-${records.length}.json`);
      writeFileSync(file, JSON.stringify({
        ip: { families: [4] },
        records,
        forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp' }],
        daemon: { listen: '127.0.0.1:9876', interval },
        state: join(lab.dir, `bench-daemon-state-${++phase}.json`),
      }));
      chmodSync(file, 0o600);
      return file;
    };
    /**
     * Starts the daemon from an empty state with the records withdrawn, so that every phase publishes all
     * three (the Cloudflare SDK loaded, TLS to every provider): the memory of a daemon that has worked,
     * not of one that found nothing to do. Waits until the records are published and the forward mapped.
     */
    const run = imageRun();
    const startDaemon = async (interval: number, records: object[], env: Record<string, string>) => {
      names = records.length === 1 ? ['benchhome.duckdns.org'] : NAMES;
      for (const name of names) await net.setRecord({ name, type: 'A', content: null });
      const child = lab.spawn('lan', [node.path, ...run.nodeArgs, BUNDLE, '-c', writeConf(interval, records), 'run'], { env: { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (c: string) => { log += c; });
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        const done = await Promise.all(names.map(async (name) => (await net.records({ name, type: 'A' }))[0]?.content === lab.addr.public4));
        if (done.every(Boolean) && /mapping\.(added|renewed)/.test(log) && /"event":"cycle\.done"|"event":"daemon\.started"/.test(log)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!/mapping\.(added|renewed)/.test(log)) throw new Error(`the daemon did not settle:\n${log.split('\n').slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 1000));
      return child;
    };
    const stopDaemon = async (child: ReturnType<typeof lab.spawn>) => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    };

    // A. Idle as the image runs it: one record, one forward, the default interval.
    const imageEnv = run.env;
    say(`daemon: idle for ${idleSeconds} s, one record + one forward, as the image runs it (node ${node.version}, ${run.text})`);
    const a = await startDaemon(DEFAULT_INTERVAL_S, [ALL[1] as object], imageEnv);
    await net.clearRequests();
    const s0 = sample(a.pid ?? -1);
    const t0 = Date.now();
    while (Date.now() - t0 < idleSeconds * 1000) await new Promise((r) => setTimeout(r, 1000));
    const elapsed = (Date.now() - t0) / 1000;
    const s1 = sample(a.pid ?? -1);
    const idleRequests = await net.requests();
    await stopDaemon(a);
    const cpu = s0 && s1 ? ((s1.cpuTicks - s0.cpuTicks) / 100 / elapsed) * 100 : Number.NaN;
    const hwm = (s1?.hwmKiB ?? Number.NaN) / 1024;
    const rss = (s1?.rssKiB ?? Number.NaN) / 1024;
    const idleProviders = idleRequests.filter(isProvider).length;

    const image = `node ${node.version}${node.asImage ? ' (the image\'s NODE_VERSION)' : ' (NOT the image\'s Node: not installed here)'}, ${run.text}, bundle`;
    const idleRows: Figure[] = [
      { figure: 'idle `ddns run` RSS after 60 s, one record + one forward, as the image runs it', unit: 'MiB', ours: rss, target: '≤ 60 MiB', met: rss <= 60, note: `VmRSS read after ${Math.round(elapsed)} s idle past the first cycle (the issue's target); ${image}; default interval 300 s; DuckDNS + tcp/8022 via UPnP` },
      { figure: 'idle `ddns run` peak RSS (VmHWM), the same run', unit: 'MiB', ours: hwm, note: `VmHWM (peak since start, the first cycle's TLS included; the config is loaded in a child process) read at the same moment; ${image}` },
      { figure: 'idle `ddns run` CPU, one record + one forward', unit: '% of a core', ours: cpu, target: '≤ 0.5 %', met: cpu <= 0.5, note: `user+sys ticks over a ${Math.round(elapsed)} s window after the first cycle; ${image}; router events subscribed (GENA), router poll 60 s, forward upkeep` },
    ];
    if (o.idleOnly) {
      say(`daemon: VmRSS ${rss.toFixed(1)} MiB, VmHWM ${hwm.toFixed(1)} MiB (node ${node.version}); idle ${elapsed.toFixed(0)} s: ${idleProviders} provider requests`);
      return idleRows;
    }

    // B. Request rates over ≥ 3 whole intervals at the shortest interval, three records.
    const windowS = intervals * BENCH_INTERVAL_S;
    say(`daemon: ${intervals} whole intervals of ${BENCH_INTERVAL_S} s (${windowS} s), three records, counting requests`);
    const b = await startDaemon(BENCH_INTERVAL_S, ALL, imageEnv);
    const byTrigger = async (): Promise<Map<string, number>> => {
      const m = await lab.exec('lan', ['curl', '-s', '-m', '3', 'http://127.0.0.1:9876/metrics']);
      const out = new Map<string, number>();
      for (const l of m.stdout.split('\n').filter((x) => x.startsWith('ddns_ip_confirmations_total'))) {
        out.set(/trigger="([^"]*)"/.exec(l)?.[1] ?? '?', Number(l.split(' ').pop()));
      }
      return out;
    };
    await net.clearRequests();
    const c0 = await byTrigger();
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const c1 = await byTrigger();
    const triggers = [...c1].map(([t, n]) => [t, n - (c0.get(t) ?? 0)] as const).filter(([, n]) => n > 0);
    const cycles = triggers.reduce((n, [, d]) => n + d, 0);
    const triggerText = triggers.map(([t, n]) => `${n} ${t}`).join(', ') || 'none';
    const windowMeasured = (Date.now() - w0) / 1000;
    const log = await net.requests();
    await stopDaemon(b);
    const echo = log.filter(isEcho).length;
    const providers = log.filter(isProvider).length;
    const perConfirmation = cycles > 0 ? echo / cycles : Number.NaN;
    const echoPerHourDefault = perConfirmation * (3600 / DEFAULT_INTERVAL_S);

    say(`daemon: VmRSS ${rss.toFixed(1)} MiB, VmHWM ${hwm.toFixed(1)} MiB (node ${node.version}); idle ${elapsed.toFixed(0)} s: ${idleProviders} provider requests; ${windowMeasured.toFixed(0)} s at ${BENCH_INTERVAL_S} s: ${cycles} confirmations, ${echo} echo and ${providers} provider requests`);
    return [
      ...idleRows,
      { figure: 'echo requests/hour at the default interval (300 s), nothing changing', unit: 'req/h', ours: echoPerHourDefault, target: '≤ 12', met: echoPerHourDefault <= 12, note: `computed from ${cycles} measured confirmations (${triggerText}; ${echo} echo requests) over ${Math.round(windowMeasured)} s = ${intervals} whole intervals at 30 s, scaled to 12 confirmations an hour` },
      { figure: 'provider requests, nothing changing (3 records)', unit: 'req/h', ours: (providers * 3600) / windowMeasured, target: '0', met: providers === 0, note: `${providers} counted over ${Math.round(windowMeasured)} s = ${intervals} whole intervals at 30 s (${cycles} confirmations)` },
    ];
  } finally {
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchDaemon({ idleOnly: process.argv.includes('--idle-only') })) console.log(JSON.stringify(f));
}
