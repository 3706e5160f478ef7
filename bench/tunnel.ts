/**
 * `ddns tunnel` (the bundle) side by side with Debian's autossh (`autossh -M 0 -N -R …`, how people keep
 * a reverse tunnel today), in the `cgnat` lab against a real OpenSSH relay (test/lab/relay.ts: the
 * README's authorized_keys line), both at the same keepalive: ddns keepaliveInterval 5 × keepaliveCountMax 3
 * (its defaults) = ssh ServerAliveInterval 5, ServerAliveCountMax 3, plus ExitOnForwardFailure=yes and
 * AUTOSSH_GATETIME=0 (the usual autossh set-up). One client at a time on the same relay port.
 *
 * "Traffic again" is seen from the internet host: a prober there opens a connection to relay:port every
 * 50 ms and counts one whose echo from the LAN service comes back; only connections opened after the old
 * path is gone count (after the cut session's sshd processes have exited / after the address changed).
 *
 * Figures:
 * - relay-side cut (the sshd processes of the session that holds the port killed by pid — ddns's warm
 *   standby, its second session, is left alone, as when the relay ends one session) → traffic again,
 *   median of 3 each; before each cut ddns's standby is up again (its log says so);
 * - home WAN change (the carrier NAT's outside address) → traffic again: ddns median of 3, autossh one try
 *   bounded at CAP (it waits on the relay to drop the stale session, which holds the port);
 * - the same for autossh with ClientAliveInterval 5 / ClientAliveCountMax 3 on the relay (does the relay
 *   setting free the port sooner?);
 * - idle memory: VmHWM (peak resident set) and VmRSS of the ddns process vs autossh + its ssh, after 60 s
 *   idle with the tunnel (and ddns's standby) up.
 *
 *   tsx bench/tunnel.ts          (root; uses the bundle, builds it if missing)
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, type Lab } from '../test/lab/lab.js';
import { startRelay, type Relay } from '../test/lab/relay.js';
import { run } from '../test/lab/sh.js';
import { median, type Figure } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/ddns.mjs');
const REMOTE = 2222;
const LOCAL = 8080;
const KEEPALIVE = { interval: 5, countMax: 3 };
const CAP_MS = 45_000;
const TRIALS = 3;

async function ensureBundle(): Promise<void> {
  if (existsSync(BUNDLE)) return;
  const { build } = (await import(join(ROOT, 'scripts/build.mjs'))) as { build: (o?: object) => Promise<unknown> };
  await build();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function status(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  try {
    return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Running (a zombie waiting to be reaped has exited: its sockets are closed). */
const alive = (pid: number) => {
  try { return !/^\S+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

async function children(pid: number): Promise<number[]> {
  return (await run(['pgrep', '-P', String(pid)])).stdout.trim().split('\n').filter(Boolean).map(Number);
}

/**
 * Connections from the internet host to relay:REMOTE every 50 ms, each given 1 s for its echo; the start
 * and end (epoch ms) of every one that came back.
 */
function startProber(lab: Lab, relay: Relay): { oks: { s: number; e: number }[]; child: ChildProcess; stderr(): string } {
  const code = `const net = require('node:net');
    setInterval(() => {
      const s = Date.now();
      const c = net.connect({ host: ${JSON.stringify(relay.host)}, port: ${REMOTE} });
      let got = '';
      const t = setTimeout(() => c.destroy(), 1000);
      c.on('error', () => clearTimeout(t));
      c.on('connect', () => c.write('p\\n'));
      c.on('data', (d) => { got += d; if (got === 'p\\n') { clearTimeout(t); process.stdout.write(s + ' ' + Date.now() + '\\n'); c.destroy(); } });
    }, 50);`;
  const child = lab.spawn('wan', [process.execPath, '-e', code]);
  const oks: { s: number; e: number }[] = [];
  let rest = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (err.length < 8192) err += d; });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    rest += d;
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) { const [s, e] = l.split(' ').map(Number); if (s && e) oks.push({ s, e }); }
  });
  return { oks, child, stderr: () => err };
}

/** The end (epoch ms) of the first echoed connection opened at or after `from`, or undefined after `capMs`. */
async function trafficAfter(oks: { s: number; e: number }[], from: number, capMs: number): Promise<number | undefined> {
  const end = Date.now() + capMs;
  for (;;) {
    const hit = oks.find((o) => o.s >= from);
    if (hit) return hit.e;
    if (Date.now() > end) return undefined;
    await sleep(20);
  }
}

interface Client { name: string; pids(): Promise<number[]>; stop(): Promise<void>; stderr(): string; /** Resolves when the client is steady (ddns: its standby up after the last tunnel.up). */ steady(): Promise<void> }

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (text.length < 65_536) text += d; });
  return () => text;
}

function startDdns(lab: Lab, relay: Relay): Client {
  const conf = join(lab.dir, 'bench-tunnel-ddns.json');
  writeFileSync(conf, JSON.stringify({
    state: join(lab.dir, 'bench-tunnel-state.json'),
    tunnels: [relay.tunnel([{ remotePort: REMOTE, localPort: LOCAL }], { keepaliveInterval: KEEPALIVE.interval, keepaliveCountMax: KEEPALIVE.countMax })],
  }));
  chmodSync(conf, 0o600);
  const child = lab.spawn('lan', [process.execPath, BUNDLE, '-c', conf, 'tunnel'], { env: { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'info' } });
  const stderr = collect(child);
  return {
    name: 'ddns',
    stderr,
    steady: async () => {
      for (let i = 0; i < 600; i++) {
        const events = stderr().split('\n').flatMap((l) => { try { return [(JSON.parse(l) as { event?: string }).event ?? '']; } catch { return []; } });
        const last = (e: string) => events.lastIndexOf(e);
        if (last('tunnel.standby.up') > Math.max(last('tunnel.up'), last('tunnel.down'), last('tunnel.standby.down'))) return;
        await sleep(50);
      }
      throw new Error(`ddns: the standby never came up\n${stderr()}`);
    },
    pids: async () => (child.pid ? [child.pid] : []),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function startAutossh(lab: Lab, relay: Relay): Client {
  const known = join(lab.dir, 'bench-tunnel-known_hosts');
  writeFileSync(known, `${relay.host} ${relay.hostKey}\n`);
  const child = lab.spawn('lan', [
    'autossh', '-M', '0', '-N', '-F', '/dev/null', '-i', relay.keyFile, '-p', String(relay.port),
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${known}`,
    '-o', `ServerAliveInterval=${KEEPALIVE.interval}`, '-o', `ServerAliveCountMax=${KEEPALIVE.countMax}`, '-o', 'ExitOnForwardFailure=yes',
    '-R', `0.0.0.0:${REMOTE}:127.0.0.1:${LOCAL}`, `${relay.user}@${relay.host}`,
  ], { env: { AUTOSSH_GATETIME: '0' } });
  return {
    name: 'autossh',
    stderr: collect(child),
    steady: () => Promise.resolve(),
    pids: async () => (child.pid ? [child.pid, ...(await children(child.pid))] : []),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      // autossh passes SIGTERM on to its ssh and exits.
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Kills the processes of the relay's session that holds the port (the per-connection sshd and its unprivileged child) by pid; resolves when they are gone. */
async function cutSessions(relay: Relay): Promise<{ t0: number; gone: number }> {
  const holder = await relay.holder(REMOTE);
  if (holder === undefined) throw new Error('no session holds the relay port');
  const monitors = [holder];
  const all = await relay.processes(holder);
  const t0 = Date.now();
  for (const pid of monitors) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  while (all.some(alive)) await sleep(5);
  return { t0, gone: Date.now() };
}

async function freePort(relay: Relay): Promise<void> {
  for (let i = 0; i < 100 && (await relay.listening(REMOTE)); i++) {
    await relay.killSessions();
    await sleep(100);
  }
}

interface Measured { cutMs: number[]; goneMs: number[]; wanMs: (number | undefined)[]; hwmKiB: number; rssKiB: number; log: string }

/** `downMs` of each `tunnel.up` line ddns logged (its own view: from noticing the loss to the forward granted). */
function downMsOf(log: string): number[] {
  return log.split('\n').flatMap((l) => { try { const j = JSON.parse(l) as { event?: string; downMs?: number }; return j.event === 'tunnel.up' && typeof j.downMs === 'number' ? [j.downMs] : []; } catch { return []; } });
}

async function measure(lab: Lab, relay: Relay, start: (lab: Lab, relay: Relay) => Client, o: { cuts: number; wans: number; idleMs: number; say: (s: string) => void }): Promise<Measured> {
  await freePort(relay);
  const prober = startProber(lab, relay);
  const client = start(lab, relay);
  const out: Measured = { cutMs: [], goneMs: [], wanMs: [], hwmKiB: 0, rssKiB: 0, log: '' };
  try {
    const t = Date.now();
    if ((await trafficAfter(prober.oks, t, 30_000)) === undefined) throw new Error(`${client.name}: the tunnel never carried traffic\n${client.stderr()}\n${prober.stderr()}\n${relay.log().slice(-2000)}`);
    await client.steady();
    await sleep(o.idleMs);
    const pids = await client.pids();
    out.hwmKiB = pids.reduce((a, p) => a + status(p, 'VmHWM'), 0);
    out.rssKiB = pids.reduce((a, p) => a + status(p, 'VmRSS'), 0);
    o.say(`tunnel: ${client.name} idle VmHWM ${(out.hwmKiB / 1024).toFixed(1)} MiB (pids ${pids.join(' ')})`);
    for (let i = 0; i < o.cuts; i++) {
      await client.steady();
      const { t0, gone } = await cutSessions(relay);
      const back = await trafficAfter(prober.oks, gone, 30_000);
      out.cutMs.push(back === undefined ? Number.NaN : back - t0);
      out.goneMs.push(gone - t0);
      o.say(`tunnel: ${client.name} relay cut → traffic ${back === undefined ? 'not back' : `${back - t0} ms`}`);
      await sleep(1_000);
    }
    for (let i = 0; i < o.wans; i++) {
      await client.steady();
      const addr = `44.0.0.${40 + Math.floor(Math.random() * 150)}`;
      const t0 = Date.now();
      await lab.setPublic4(addr);
      const changed = Date.now();
      const back = await trafficAfter(prober.oks, changed, CAP_MS);
      out.wanMs.push(back === undefined ? undefined : back - t0);
      o.say(`tunnel: ${client.name} WAN → ${addr} → traffic ${back === undefined ? `not back within ${CAP_MS / 1000} s` : `${back - t0} ms`}`);
      if (back === undefined) break;
      await sleep(1_000);
    }
  } finally {
    await client.stop();
    out.log = client.stderr();
    prober.child.kill();
    await freePort(relay);
  }
  return out;
}

export interface TunnelBenchOptions { log?: (s: string) => void }

export async function benchTunnel(o: TunnelBenchOptions = {}): Promise<Figure[]> {
  const say = o.log ?? ((s: string) => console.error(s));
  await ensureBundle();
  const lab = await startLab('cgnat', { fixtures: false });
  let relay: Relay | undefined;
  const service = await lab.listen('lan', LOCAL);
  try {
    relay = await startRelay(lab, { ports: [REMOTE] });
    const ours = await measure(lab, relay, startDdns, { cuts: TRIALS, wans: TRIALS, idleMs: 60_000, say });
    const peer = await measure(lab, relay, startAutossh, { cuts: TRIALS, wans: 1, idleMs: 60_000, say });
    await relay.down();
    relay = undefined;
    // The same relay with ClientAliveInterval: does the relay drop the stale session, so autossh gets the port back?
    relay = await startRelay(lab, { ports: [REMOTE], sshd: ['ClientAliveInterval 5', 'ClientAliveCountMax 3'] });
    const peerAlive = await measure(lab, relay, startAutossh, { cuts: 0, wans: 1, idleMs: 0, say });

    const ka = `keepalive ${KEEPALIVE.interval} s × ${KEEPALIVE.countMax} on both (ServerAliveInterval/CountMax for ssh), cgnat lab, OpenSSH relay`;
    const ms = (xs: number[]) => xs.map((x) => Math.round(x)).join(' ');
    const wanOurs = ours.wanMs.filter((x): x is number => x !== undefined);
    const wanOursMedian = ours.wanMs.some((x) => x === undefined) ? Number.NaN : median(wanOurs) / 1000;
    const wanPeer = peer.wanMs[0];
    const wanPeerAlive = peerAlive.wanMs[0];
    // A peer that is not back within the cap is counted at the cap: the ratio shown is then an upper bound.
    const peerS = (x: number | undefined) => (x === undefined ? CAP_MS / 1000 : x / 1000);
    const capNote = (x: number | undefined) => (x === undefined ? `autossh not back within ${CAP_MS / 1000} s (shown at the cap; the ratio is an upper bound)` : `autossh ${Math.round(x)} ms`);
    const cutOurs = median(ours.cutMs) / 1000;
    const cutPeer = median(peer.cutMs) / 1000;
    const ratio = (a: number, b: number) => (b > 0 ? { ratio: a / b } : {});
    const own = downMsOf(ours.log);
    return [
      {
        figure: 'tunnel: relay cuts the session → traffic again', unit: 's', ours: cutOurs, peer: cutPeer, peerName: 'autossh', ...ratio(cutOurs, cutPeer),
        target: '≤ 0.2× autossh', met: cutOurs <= 0.2 * cutPeer,
        note: `the sshd processes of the session holding the port killed by pid on the relay (ddns's standby left alone), timed from the kill to the first echo through the relay from a connection opened after they exited (the relay took ${ms(ours.goneMs)} / ${ms(peer.goneMs)} ms to end them); median of ${TRIALS}, each from a steady state (ddns's standby up); ddns ${ms(ours.cutMs)} ms, autossh ${ms(peer.cutMs)} ms; autossh logs in again, ddns's standby asks for the port on its open session (ddns's own downMs, loss noticed → forward granted: ${ms(own.slice(0, TRIALS))} ms); ${ka}`,
      },
      {
        figure: 'tunnel: home WAN address changes → traffic again', unit: 's', ours: wanOursMedian, peer: peerS(wanPeer), peerName: 'autossh', ...ratio(wanOursMedian, peerS(wanPeer)),
        target: '≤ 0.2× autossh', met: wanOursMedian <= 0.2 * peerS(wanPeer),
        note: `the carrier NAT's outside address changed (timed from the change to the first echo through the relay); ddns median of ${TRIALS} (${ms(wanOurs)} ms; its downMs ${ms(own.slice(TRIALS))} ms), ${capNote(wanPeer)}; the relay keeps the stale session and its port — ddns ends it through the key's forced command, autossh waits for the relay; ${ka}`,
      },
      {
        figure: 'tunnel: WAN change → traffic, relay with ClientAliveInterval 5 × 3', unit: 's', ours: wanOursMedian, peer: peerS(wanPeerAlive), peerName: 'autossh', ...ratio(wanOursMedian, peerS(wanPeerAlive)),
        target: '≤ 0.2× autossh', met: wanOursMedian <= 0.2 * peerS(wanPeerAlive),
        note: `as above, with ClientAliveInterval 5 and ClientAliveCountMax 3 in the relay's sshd_config (ours: the row above — ddns does not need it); ${capNote(wanPeerAlive)} — with connections arriving at the forwarded port (the prober's, every 50 ms) the relay never ended the stale session`,
      },
      {
        figure: 'tunnel: idle peak RSS, ddns tunnel (with standby) vs autossh + ssh', unit: 'MiB', ours: ours.hwmKiB / 1024, peer: peer.hwmKiB / 1024, peerName: 'autossh', ...ratio(ours.hwmKiB, peer.hwmKiB),
        note: `VmHWM after 60 s idle with one forward up (ddns: its one node process, the bundle, two SSH sessions: the tunnel and its standby; autossh: autossh + its ssh, summed); VmRSS then: ddns ${(ours.rssKiB / 1024).toFixed(1)} MiB, autossh + ssh ${(peer.rssKiB / 1024).toFixed(1)} MiB`,
      },
    ];
  } finally {
    await service.close();
    await relay?.down();
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchTunnel()) console.log(JSON.stringify(f));
}
