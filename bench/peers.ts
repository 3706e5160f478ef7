/**
 * The daemons side by side in one lab, against the same No-IP (dyndns2) fixture, each with its own hostname
 * on one account so every update is attributable. ddns is the bundle as the image runs it (the image's
 * Node when installed, with the node options and NODE_…/MALLOC_… variables the Dockerfile gives it: imageRun).
 *
 * - `settings: 'comparable'` (default): all three check every 60 s — `ddns run` `interval: 60`, inadyn
 *   `period = 60`, ddclient `daemon=60` (its floor). Figures: peak RSS (VmHWM) and CPU over 3 whole
 *   intervals (180 s), provider and echo requests per hour with nothing changing over those intervals, and
 *   the time from a WAN address change on the router (with its NAT-PMP/PCP announcement) to the provider
 *   receiving the new address (median of `changes`).
 * - `settings: 'defaults'`: each at its own default — ddns with no `interval` (300 s), inadyn with no
 *   `period` line (its built-in period), ddclient `daemon=300` (Debian's /etc/default/ddclient
 *   `daemon_interval="5m"`; ddclient itself has no daemon default: without `daemon` it runs once). The idle
 *   window is 3 whole intervals of the longest (900 s); the same idle figures, no WAN changes (the 60 s
 *   settings measure those).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { RequestLogEntry } from '../test/fixtures/types.js';
import { startLab, type Lab } from '../test/lab/lab.js';
import { imageNode, imageRun } from './daemon.js';
import { median, waitFor, type Figure } from './lib/stats.js';

const BUNDLE = fileURLToPath(new URL('../dist/ddns.mjs', import.meta.url));
const USER = 'benchuser';
const PASS = 'bench-pass-1';
const HOSTS = { ddns: 'ours.ddns.net', ddclient: 'ddclient.ddns.net', inadyn: 'inadyn.ddns.net' } as const;
type Who = keyof typeof HOSTS;
const WHO: Who[] = ['ddns', 'ddclient', 'inadyn'];
/** ddclient has no daemon default of its own; Debian's /etc/default/ddclient sets daemon_interval="5m". */
const DDCLIENT_DEFAULT_S = 300;
const DDNS_DEFAULT_S = 300;
/** As the Dockerfile sets them. */

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

interface ProcSample { hwmKiB: number; rssKiB: number; cpuTicks: number }

function sample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { hwmKiB: hwm, rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

type Settings = 'comparable' | 'defaults';

function startDaemons(lab: Lab, settings: Settings, node: string): Record<Who, ChildProcess> {
  const image = imageRun();
  const defaults = settings === 'defaults';
  const ca = join(lab.dir, 'ca.pem');
  const ddclientConf = join(lab.dir, 'bench-ddclient.conf');
  writeFileSync(ddclientConf, [
    `daemon=${defaults ? DDCLIENT_DEFAULT_S : 60}`, 'syslog=no', 'ssl=yes', `ssl_ca_file=${ca}`, `pid=${join(lab.dir, 'bench-ddclient.pid')}`,
    'usev4=webv4', 'webv4=https://api.ipify.org/',
    'protocol=dyndns2', 'server=dynupdate.no-ip.com', `login=${USER}`, `password='${PASS}'`, HOSTS.ddclient, '',
  ].join('\n'));
  chmodSync(ddclientConf, 0o600);
  const inadynConf = join(lab.dir, 'bench-inadyn.conf');
  writeFileSync(inadynConf, [
    ...(defaults ? [] : ['period = 60']), `ca-trust-file = ${ca}`,
    'provider no-ip.com {', `    username = ${USER}`, `    password = ${PASS}`, `    hostname = ${HOSTS.inadyn}`,
    '    checkip-server = api.ipify.org', '    checkip-path = /', '    checkip-ssl = true', '}', '',
  ].join('\n'));
  chmodSync(inadynConf, 0o600);
  const ddnsConf = join(lab.dir, 'bench-ddns.json');
  writeFileSync(ddnsConf, JSON.stringify({
    records: [{ provider: 'noip', hostname: HOSTS.ddns, username: USER, password: PASS }],
    daemon: { listen: '127.0.0.1:9876', ...(defaults ? {} : { interval: 60 }) },
    state: join(lab.dir, 'bench-ddns-state.json'),
  }));
  chmodSync(ddnsConf, 0o600);
  const env = { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'warn' };
  return {
    ddns: lab.spawn('lan', [node, ...image.nodeArgs, BUNDLE, '-c', ddnsConf, 'run'], { env: { ...env, ...image.env }, stdio: 'ignore' }),
    ddclient: lab.spawn('lan', ['ddclient', '-file', ddclientConf, '-cache', join(lab.dir, 'bench-ddclient.cache'), '-foreground', `-daemon=${defaults ? DDCLIENT_DEFAULT_S : 60}`], { env, stdio: 'ignore' }),
    inadyn: lab.spawn('lan', ['inadyn', '--foreground', '-f', inadynConf, '--cache-dir', join(lab.dir, 'bench-inadyn-cache'), '-P', join(lab.dir, 'bench-inadyn.pid'), '-l', 'warning'], { env, stdio: 'ignore' }),
  };
}

export interface PeersOptions { settings?: Settings; idleSeconds?: number; changes?: number; log?: (s: string) => void }

export async function benchPeers(o: PeersOptions = {}): Promise<Figure[]> {
  if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first`);
  const say = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const settings = o.settings ?? 'comparable';
  const defaults = settings === 'defaults';
  // 3 whole intervals of the longest period checked (60 s comparable; 300 s at the defaults).
  const longest = defaults ? Math.max(DDNS_DEFAULT_S, DDCLIENT_DEFAULT_S) : 60;
  const idleSeconds = Math.max(3 * longest, o.idleSeconds ?? 3 * longest);
  const changes = defaults ? 0 : o.changes ?? 3;
  const node = imageNode();
  const lab = await startLab('healthy');
  try {
    const net = lab.internet;
    if (!net) throw new Error('the lab fixtures did not start');
    await net.configure({ dyndns2: { accounts: { [USER]: { password: PASS, hostnames: Object.values(HOSTS) } }, agentPolicy: 'real', answer: null } });
    const procs = startDaemons(lab, settings, node.path);
    const updatedTo = async (who: Who, addr: string) =>
      (await net.requests({ service: 'dyndns2' })).some((e) => sender(e) === who && String(e.query.hostname ?? '').includes(HOSTS[who]) && String(e.query.myip ?? '') === addr);

    say(`peers (${settings}): waiting for the first update of each daemon to ${lab.addr.public4}`);
    for (const who of WHO) {
      if (!(await waitFor(() => updatedTo(who, lab.addr.public4), 90_000, 250))) throw new Error(`${who} never made its first update`);
    }

    // Idle: nothing changes; sample memory and CPU, count requests.
    await net.clearRequests();
    const hz = 100; // USER_HZ on Linux
    const start = Object.fromEntries(WHO.map((w) => [w, sample(procs[w].pid ?? -1)])) as Record<Who, ProcSample | undefined>;
    const peak: Record<Who, number> = { ddns: 0, ddclient: 0, inadyn: 0 };
    const rss: Record<Who, number> = { ddns: 0, ddclient: 0, inadyn: 0 };
    const t0 = Date.now();
    say(`peers (${settings}): idle for ${idleSeconds} s`);
    while (Date.now() - t0 < idleSeconds * 1000) await new Promise((r) => setTimeout(r, 1000));
    for (const w of WHO) {
      const s = sample(procs[w].pid ?? -1);
      peak[w] = s?.hwmKiB ?? Number.NaN;
      rss[w] = s?.rssKiB ?? Number.NaN;
    }
    const elapsed = (Date.now() - t0) / 1000;
    const idleLog = await net.requests();
    const cpu: Record<Who, number> = { ddns: 0, ddclient: 0, inadyn: 0 };
    for (const w of WHO) {
      const end = sample(procs[w].pid ?? -1);
      cpu[w] = end && start[w] ? ((end.cpuTicks - start[w].cpuTicks) / hz / elapsed) * 100 : Number.NaN;
    }
    const count = (who: Who, pred: (e: RequestLogEntry) => boolean) => idleLog.filter((e) => sender(e) === who && pred(e)).length;
    const perHour = (who: Who, pred: (e: RequestLogEntry) => boolean) => (count(who, pred) * 3600) / elapsed;

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
    const mib = (k: number) => (k / 1024).toFixed(1);
    for (const w of ['inadyn', 'ddclient'] as const) {
      const peerSetting = defaults
        ? (w === 'inadyn' ? 'inadyn with no period line (its default)' : `ddclient daemon=${DDCLIENT_DEFAULT_S} (Debian's default daemon_interval; ddclient has none of its own)`)
        : (w === 'inadyn' ? 'inadyn period 60' : 'ddclient daemon=60');
      const ours = defaults ? `ddns with no interval (default ${DDNS_DEFAULT_S} s)` : 'ddns interval 60';
      const every = defaults ? 'each at its own default' : 'all three check every 60 s';
      const setting = `${every} (${ours}, ${peerSetting}); ddns from the bundle on node ${node.version}${node.asImage ? ' (the image\'s)' : ''}, ${imageRun().text}`;
      const suffix = defaults ? ', at each one\'s default interval' : '';
      if (!defaults) {
        const oursLat = median(seen(latency.ddns));
        const note = `median of ${changes} changes at random phases (router WAN moved + NAT-PMP/PCP announcement); missed within 100 s: ddns ${missed('ddns')}, ${w} ${missed(w)}; ${setting}; samples ddns ${latency.ddns.map((x) => x.toFixed(2)).join(' ')} ${w} ${latency[w].map((x) => x.toFixed(1)).join(' ')}`;
        figures.push(row('WAN change → provider updated, router announces (NAT-PMP/PCP)', 's', w, oursLat, median(seen(latency[w])), '≤ 3 s', oursLat <= 3 && missed('ddns') === 0, note));
      }
      const win = `over ${Math.round(elapsed)} s = 3 whole intervals of ${longest} s, after each daemon's first update; ${setting}`;
      figures.push(row(`idle peak RSS (VmHWM)${suffix}`, 'MiB', w, peak.ddns / 1024, peak[w] / 1024, undefined, undefined, `VmHWM (peak since start) read at the end of the idle window (VmRSS then: ddns ${mib(rss.ddns)}, ${w} ${mib(rss[w])} MiB); ${win}; ddns's target row is the daemon bench's`));
      figures.push(row(`idle CPU${suffix}`, '% of a core', w, cpu.ddns, cpu[w], undefined, undefined, `user+sys ticks ${win}`));
      const pOurs = perHour('ddns', isProvider);
      figures.push(row(`provider requests/hour, nothing changing${suffix}`, 'req/h', w, pOurs, perHour(w, isProvider), '0', pOurs === 0, `${count('ddns', isProvider)} (ddns) and ${count(w, isProvider)} (${w}) counted ${win}`));
      const eOurs = perHour('ddns', isEcho);
      figures.push(defaults
        ? row('echo requests/hour at each one\'s default interval, nothing changing', 'req/h', w, eOurs, perHour(w, isEcho), '≤ 12', eOurs <= 12, `${count('ddns', isEcho)} (ddns) and ${count(w, isEcho)} (${w}) counted ${win}`)
        : row('echo requests/hour at a 60 s check, nothing changing', 'req/h', w, eOurs, perHour(w, isEcho), undefined, undefined, `${count('ddns', isEcho)} (ddns) and ${count(w, isEcho)} (${w}) counted ${win} (ddns's ≤ 12/h target is at its default 300 s: the defaults rows)`));
    }
    return figures;
  } finally {
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const settings = process.argv.includes('--defaults') ? 'defaults' : 'comparable';
  for (const f of await benchPeers({ settings })) console.log(JSON.stringify(f));
}
