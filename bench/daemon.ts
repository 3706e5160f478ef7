/**
 * Idle `ddns run` (the bundle) in the lab, with the full sidecar job: three records (No-IP, DuckDNS,
 * Cloudflare — so the Cloudflare SDK is loaded) and one forward kept on the real router.
 *
 * Figures (issue 8): peak RSS (target ≤ 70 MiB; as the image runs it, with MALLOC_ARENA_MAX=2, and as
 * plain node from an npm install), CPU while idle (≤ 0.5 % of a core), and requests per
 * hour when nothing changes — to echo services (≤ 12 at the default 300 s interval) and to providers (0).
 *
 * How requests per hour are measured honestly in one minute: the daemon runs with the shortest interval
 * the config allows (30 s), so the minute holds real external confirmations; the echo requests per
 * confirmation are counted and scaled to the default interval (3600 / 300 confirmations an hour). The
 * raw rate at 30 s is reported too. Provider requests in the idle minute are counted as they are.
 *
 *   tsx bench/daemon.ts          (root; builds the bundle if it is missing)
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

export interface DaemonBenchOptions { idleSeconds?: number; log?: (s: string) => void }

export async function benchDaemon(o: DaemonBenchOptions = {}): Promise<Figure[]> {
  await ensureBundle();
  const say = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const idleSeconds = o.idleSeconds ?? 60;
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
    const writeConf = (interval: number): string => {
      const file = join(lab.dir, `bench-daemon-${interval}.json`);
      writeFileSync(file, JSON.stringify({
        ip: { families: [4] },
        records: [
          { provider: 'noip', hostname: 'bench.ddns.net', username: 'benchuser', password: NOIP_PW },
          { provider: 'duckdns', domains: ['benchhome'], token: DUCK_TOKEN },
          { provider: 'cloudflare', zone: 'example.com', name: 'bench.example.com', apiToken: CF_TOKEN, create: true },
        ],
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
    const startDaemon = async (interval: number, env: Record<string, string>) => {
      for (const name of NAMES) await net.setRecord({ name, type: 'A', content: null });
      const child = lab.spawn('lan', [process.execPath, BUNDLE, '-c', writeConf(interval), 'run'], { env: { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (c: string) => { log += c; });
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        const done = await Promise.all(NAMES.map(async (name) => (await net.records({ name, type: 'A' }))[0]?.content === lab.addr.public4));
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

    // A. Idle as the image runs it (default interval, MALLOC_ARENA_MAX=2): memory, CPU, requests.
    say(`daemon: idle for ${idleSeconds} s at the default interval (${DEFAULT_INTERVAL_S} s), as the image runs it`);
    const a = await startDaemon(DEFAULT_INTERVAL_S, { MALLOC_ARENA_MAX: '2' });
    await net.clearRequests();
    const s0 = sample(a.pid ?? -1);
    let peakRss = s0?.rssKiB ?? 0;
    const t0 = Date.now();
    while (Date.now() - t0 < idleSeconds * 1000) {
      peakRss = Math.max(peakRss, sample(a.pid ?? -1)?.rssKiB ?? 0);
      await new Promise((r) => setTimeout(r, 500));
    }
    const elapsed = (Date.now() - t0) / 1000;
    const s1 = sample(a.pid ?? -1);
    const idleRequests = await net.requests();
    await stopDaemon(a);
    const cpu = s0 && s1 ? ((s1.cpuTicks - s0.cpuTicks) / 100 / elapsed) * 100 : Number.NaN;
    const hwm = (s1?.hwmKiB ?? peakRss) / 1024;
    const providers = idleRequests.filter(isProvider).length;
    const idleEcho = idleRequests.filter(isEcho).length;

    // B. Echo requests per external confirmation: the shortest interval, confirmations from /metrics.
    say(`daemon: ${idleSeconds} s at interval ${BENCH_INTERVAL_S} s, counting echo requests per confirmation`);
    const b = await startDaemon(BENCH_INTERVAL_S, { MALLOC_ARENA_MAX: '2' });
    const confirmations = async (): Promise<number> => {
      const m = await lab.exec('lan', ['curl', '-s', '-m', '3', 'http://127.0.0.1:9876/metrics']);
      return m.stdout.split('\n').filter((l) => l.startsWith('ddns_ip_confirmations_total')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    await net.clearRequests();
    const c0 = await confirmations();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000 + 5000));
    const cycles = (await confirmations()) - c0;
    const echo = (await net.requests()).filter(isEcho).length;
    await stopDaemon(b);
    const perConfirmation = cycles > 0 ? echo / cycles : Number.NaN;
    const echoPerHourDefault = perConfirmation * (3600 / DEFAULT_INTERVAL_S);

    // C. The same job from an npm install: plain node, no MALLOC_ARENA_MAX (memory only).
    say('daemon: plain node (as npm installs it), 20 s');
    const c = await startDaemon(DEFAULT_INTERVAL_S, {});
    let plainPeak = 0;
    const p0 = Date.now();
    while (Date.now() - p0 < 20_000) {
      plainPeak = Math.max(plainPeak, sample(c.pid ?? -1)?.rssKiB ?? 0);
      await new Promise((r) => setTimeout(r, 500));
    }
    const plainHwm = (sample(c.pid ?? -1)?.hwmKiB ?? 0) / 1024;
    await stopDaemon(c);

    say(`daemon: image-like RSS ${((s0?.rssKiB ?? 0) / 1024).toFixed(1)} → peak ${(peakRss / 1024).toFixed(1)} MiB (high-water ${hwm.toFixed(1)}); plain node ${(plainPeak / 1024).toFixed(1)} (high-water ${plainHwm.toFixed(1)})`);
    say(`daemon: idle ${elapsed.toFixed(0)} s: ${providers} provider and ${idleEcho} echo requests; at ${BENCH_INTERVAL_S} s: ${cycles} confirmations, ${echo} echo requests`);
    return [
      { figure: 'idle `ddns run` peak RSS, as the image runs it (3 records + 1 forward)', unit: 'MiB', ours: hwm, target: '≤ 70 MiB', met: hwm <= 70, note: `MALLOC_ARENA_MAX=2 as in the Dockerfile and the systemd unit; steady ${(peakRss / 1024).toFixed(1)} MiB` },
      { figure: 'idle `ddns run` peak RSS, plain node (npm install)', unit: 'MiB', ours: plainHwm, target: '≤ 70 MiB', met: plainHwm <= 70, note: `steady ${(plainPeak / 1024).toFixed(1)} MiB` },
      { figure: 'idle `ddns run` CPU', unit: '% of a core', ours: cpu, target: '≤ 0.5 %', met: cpu <= 0.5, note: `default interval, router polled every 60 s, forward upkeep` },
      { figure: 'echo requests/hour at the default interval, nothing changing', unit: 'req/h', ours: echoPerHourDefault, target: '≤ 12', met: echoPerHourDefault <= 12, note: `${perConfirmation.toFixed(2)} per confirmation over ${cycles} confirmations at ${BENCH_INTERVAL_S} s` },
      { figure: 'provider requests/hour, nothing changing', unit: 'req/h', ours: (providers * 3600) / elapsed, target: '0', met: providers === 0 },
    ];
  } finally {
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchDaemon()) console.log(JSON.stringify(f));
}
