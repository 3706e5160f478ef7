/**
 * The daemons side by side in one lab at comparable settings: `ddns run` (the bundle, `interval: 60`),
 * inadyn (`period = 60`) and ddclient (`daemon=60`, its floor) — all checking every 60 s — against the
 * same No-IP (dyndns2) fixture, each with its own hostname on one account so every update is attributable.
 * (At their defaults — ddns 300 s, inadyn 120 s, ddclient 300 s — a fair request count needs ≥ 3 whole
 * intervals of 300 s; the bench does not run that long: not measured.)
 *
 * Figures: peak RSS (VmHWM) and CPU over 3 whole intervals (180 s), provider and echo requests per hour
 * with nothing changing over those intervals, and the time from a WAN address change on the router (with
 * its NAT-PMP/PCP announcement) to the provider receiving the new address (median of `changes`).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { RequestLogEntry } from '../test/fixtures/types.js';
import { startLab, type Lab } from '../test/lab/lab.js';
import { median, waitFor, type Figure } from './lib/stats.js';

const BUNDLE = fileURLToPath(new URL('../dist/ddns.mjs', import.meta.url));
const USER = 'benchuser';
const PASS = 'bench-pass-1';
const HOSTS = { ddns: 'ours.ddns.net', ddclient: 'ddclient.ddns.net', inadyn: 'inadyn.ddns.net' } as const;
type Who = keyof typeof HOSTS;
const WHO: Who[] = ['ddns', 'ddclient', 'inadyn'];

/** Which client sent a request: by User-Agent for HTTP; whoami DNS and STUN are only ever ours. */
function sender(e: RequestLogEntry): Who | undefined {
  const ua = (e.headers['user-agent'] ?? '').toLowerCase();
  if (ua.startsWith('ddclient')) return 'ddclient';
  if (ua.startsWith('inadyn')) return 'inadyn';
  if (ua.includes('ddns')) return 'ddns';
  if (e.method === 'BINDING') return 'ddns';
  if (e.method === 'QUERY' && /myip\.opendns\.com|o-o\.myaddr|whoami\.cloudflare/i.test(e.path)) return 'ddns';
  return undefined;
}

const isProvider = (e: RequestLogEntry) => e.service === 'dyndns2';
const isEcho = (e: RequestLogEntry) =>
  e.service === 'echo' || e.method === 'BINDING' || (e.method === 'QUERY' && /myip\.opendns\.com|o-o\.myaddr|whoami\.cloudflare/i.test(e.path));

interface ProcSample { hwmKiB: number; cpuTicks: number }

function sample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { hwmKiB: hwm, cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function startDaemons(lab: Lab): Record<Who, ChildProcess> {
  const ca = join(lab.dir, 'ca.pem');
  const ddclientConf = join(lab.dir, 'bench-ddclient.conf');
  writeFileSync(ddclientConf, [
    'daemon=60', 'syslog=no', 'ssl=yes', `ssl_ca_file=${ca}`, `pid=${join(lab.dir, 'bench-ddclient.pid')}`,
    'usev4=webv4', 'webv4=https://api.ipify.org/',
    'protocol=dyndns2', 'server=dynupdate.no-ip.com', `login=${USER}`, `password='${PASS}'`, HOSTS.ddclient, '',
  ].join('\n'));
  chmodSync(ddclientConf, 0o600);
  const inadynConf = join(lab.dir, 'bench-inadyn.conf');
  writeFileSync(inadynConf, [
    'period = 60', `ca-trust-file = ${ca}`,
    'provider no-ip.com {', `    username = ${USER}`, `    password = ${PASS}`, `    hostname = ${HOSTS.inadyn}`,
    '    checkip-server = api.ipify.org', '    checkip-path = /', '    checkip-ssl = true', '}', '',
  ].join('\n'));
  chmodSync(inadynConf, 0o600);
  const ddnsConf = join(lab.dir, 'bench-ddns.json');
  writeFileSync(ddnsConf, JSON.stringify({
    records: [{ provider: 'noip', hostname: HOSTS.ddns, username: USER, password: PASS }],
    daemon: { listen: '127.0.0.1:9876', interval: 60 },
    state: join(lab.dir, 'bench-ddns-state.json'),
  }));
  chmodSync(ddnsConf, 0o600);
  const env = { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'warn' };
  return {
    ddns: lab.spawn('lan', [process.execPath, BUNDLE, '-c', ddnsConf, 'run'], { env, stdio: 'ignore' }),
    ddclient: lab.spawn('lan', ['ddclient', '-file', ddclientConf, '-cache', join(lab.dir, 'bench-ddclient.cache'), '-foreground', '-daemon=60'], { env, stdio: 'ignore' }),
    inadyn: lab.spawn('lan', ['inadyn', '--foreground', '-f', inadynConf, '--cache-dir', join(lab.dir, 'bench-inadyn-cache'), '-P', join(lab.dir, 'bench-inadyn.pid'), '-l', 'warning'], { env, stdio: 'ignore' }),
  };
}

export async function benchPeers(o: { idleSeconds?: number; changes?: number; log?: (s: string) => void } = {}): Promise<Figure[]> {
  if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first`);
  const say = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const idleSeconds = Math.max(180, o.idleSeconds ?? 180);
  const changes = o.changes ?? 3;
  const lab = await startLab('healthy');
  try {
    const net = lab.internet;
    if (!net) throw new Error('the lab fixtures did not start');
    await net.configure({ dyndns2: { accounts: { [USER]: { password: PASS, hostnames: Object.values(HOSTS) } }, agentPolicy: 'real', answer: null } });
    const procs = startDaemons(lab);
    const updatedTo = async (who: Who, addr: string) =>
      (await net.requests({ service: 'dyndns2' })).some((e) => sender(e) === who && String(e.query.hostname ?? '').includes(HOSTS[who]) && String(e.query.myip ?? '') === addr);

    say(`peers: waiting for the first update of each daemon to ${lab.addr.public4}`);
    for (const who of WHO) {
      if (!(await waitFor(() => updatedTo(who, lab.addr.public4), 90_000, 250))) throw new Error(`${who} never made its first update`);
    }

    // Idle: nothing changes; sample memory and CPU, count requests.
    await net.clearRequests();
    const hz = 100; // USER_HZ on Linux
    const start = Object.fromEntries(WHO.map((w) => [w, sample(procs[w].pid ?? -1)])) as Record<Who, ProcSample | undefined>;
    const peak: Record<Who, number> = { ddns: 0, ddclient: 0, inadyn: 0 };
    const t0 = Date.now();
    say(`peers: idle for ${idleSeconds} s`);
    while (Date.now() - t0 < idleSeconds * 1000) await new Promise((r) => setTimeout(r, 1000));
    for (const w of WHO) peak[w] = sample(procs[w].pid ?? -1)?.hwmKiB ?? Number.NaN;
    const elapsed = (Date.now() - t0) / 1000;
    const idleLog = await net.requests();
    const cpu: Record<Who, number> = { ddns: 0, ddclient: 0, inadyn: 0 };
    for (const w of WHO) {
      const end = sample(procs[w].pid ?? -1);
      cpu[w] = end && start[w] ? ((end.cpuTicks - start[w].cpuTicks) / hz / elapsed) * 100 : Number.NaN;
    }
    const perHour = (who: Who, pred: (e: RequestLogEntry) => boolean) => (idleLog.filter((e) => sender(e) === who && pred(e)).length * 3600) / elapsed;

    // WAN address changes: time until each daemon's update with the new address reaches the provider.
    const latency: Record<Who, number[]> = { ddns: [], ddclient: [], inadyn: [] };
    const base = lab.addr.routerWan4.split('.').slice(0, 3).join('.');
    for (let i = 0; i < changes; i++) {
      const addr = `${base}.${100 + i}`;
      // A random pause first: a change made right after the slowest poller's update would land at the
      // same phase of every daemon's poll period each round (inadyn 30 s, ddclient 60 s) and bias both.
      await new Promise((r) => setTimeout(r, Math.random() * 60_000));
      const t = Date.now();
      await lab.setRouterWan(addr);
      say(`peers: WAN → ${addr} (${i + 1}/${changes})`);
      const pending = new Set<Who>(WHO);
      while (pending.size > 0 && Date.now() - t < 100_000) {
        for (const w of [...pending]) {
          if (await updatedTo(w, addr)) { latency[w].push((Date.now() - t) / 1000); pending.delete(w); }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const w of pending) latency[w].push(Number.NaN);
    }

    const figures: Figure[] = [];
    const row = (figure: string, unit: string, w: Exclude<Who, 'ddns'>, ours: number, peer: number, target?: string, met?: boolean, note?: string): Figure =>
      ({ figure, unit, ours, peer, peerName: w, ...(peer > 0 ? { ratio: ours / peer } : {}), ...(target ? { target } : {}), ...(met !== undefined ? { met } : {}), ...(note ? { note } : {}) });
    // A daemon that missed a change within the 100 s window is counted apart, not folded into the median.
    const seen = (xs: number[]) => xs.filter((x) => !Number.isNaN(x));
    const missed = (w: Who) => latency[w].length - seen(latency[w]).length;
    for (const w of ['inadyn', 'ddclient'] as const) {
      const oursLat = median(seen(latency.ddns));
      const settings = `all three check every 60 s (ddns interval 60, inadyn period 60, ${w === 'inadyn' ? 'inadyn' : 'ddclient daemon=60'}); ddns from the bundle on node ${process.version}`;
      const note = `median of ${changes} changes at random phases (router WAN moved + NAT-PMP/PCP announcement); missed within 100 s: ddns ${missed('ddns')}, ${w} ${missed(w)}; ${settings}; samples ddns ${latency.ddns.map((x) => x.toFixed(2)).join(' ')} ${w} ${latency[w].map((x) => x.toFixed(1)).join(' ')}`;
      figures.push(row('WAN change → provider updated, router announces (NAT-PMP/PCP)', 's', w, oursLat, median(seen(latency[w])), '≤ 3 s', oursLat <= 3 && missed('ddns') === 0, note));
      const win = `over ${Math.round(elapsed)} s = 3 whole intervals of 60 s, after each daemon's first update; ${settings}`;
      figures.push(row('idle peak RSS (VmHWM)', 'MiB', w, peak.ddns / 1024, peak[w] / 1024, undefined, undefined, `VmHWM (peak since start) read at the end of the idle window; ${win}; ddns's target row is the daemon bench's (as the image runs it)`));
      figures.push(row('idle CPU', '% of a core', w, cpu.ddns, cpu[w], undefined, undefined, `user+sys ticks ${win}`));
      const pOurs = perHour('ddns', isProvider);
      figures.push(row('provider requests/hour, nothing changing', 'req/h', w, pOurs, perHour(w, isProvider), '0', pOurs === 0, `counted ${win}`));
      const eOurs = perHour('ddns', isEcho);
      figures.push(row('echo requests/hour at a 60 s check, nothing changing', 'req/h', w, eOurs, perHour(w, isEcho), undefined, undefined, `counted ${win} (ddns's ≤ 12/h target is at its default 300 s: the daemon bench row)`));
    }
    return figures;
  } finally {
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchPeers()) console.log(JSON.stringify(f));
}
