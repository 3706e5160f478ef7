/**
 * `ddns tunnel` (the bundle) side by side with Debian's autossh (`autossh -M 0 -N -R …`, how people keep
 * a reverse tunnel today), in the `cgnat` lab against a real OpenSSH relay (test/lab/relay.ts: the
 * README's authorized_keys line), both at the same keepalive: ddns keepaliveInterval 5 × keepaliveCountMax 3
 * (its defaults) = ssh ServerAliveInterval 5, ServerAliveCountMax 3, plus ExitOnForwardFailure=yes and
 * AUTOSSH_GATETIME=0 (the usual autossh set-up). One client at a time on the same relay port.
 *
 * "Traffic again" is seen from the internet host: a prober there opens a connection to relay:port (every
 * 50 ms; every 10 ms from a cut until traffic is back, so neither side is rounded up to the prober's pace;
 * none while idle) and counts one whose echo from the LAN service comes back; only connections opened
 * after the old path is gone count (after the cut session's sshd processes have exited / after the address
 * changed). The LAN service is one Node process echoing (no process per connection: the lab's socat
 * listener forks twice per connection, tens of ms on a busy machine, which is neither tunnel's time).
 *
 * Figures:
 * - relay-side cut (the sshd processes of the session that holds the port killed by pid — ddns's warm
 *   standby, its second session, is left alone, as when the relay ends one session) → traffic again,
 *   median of CUTS each; before each cut ddns's standby is up again (its log says so). CUTS is 5: autossh
 *   slows its restarts after 5 sessions in a row that lived under 60 s (its N_FAST_TRIES), which a bench
 *   cutting every ~2 s would otherwise charge to it;
 * - home WAN change (the carrier NAT's outside address) → traffic again: ddns median of WANS, autossh one
 *   try bounded at CAP (it waits on the relay to drop the stale session, which holds the port);
 * - the same for autossh with ClientAliveInterval 5 / ClientAliveCountMax 3 on the relay (does the relay
 *   setting free the port sooner?);
 * - idle memory: VmHWM (peak resident set) and VmRSS of the ddns process vs autossh + its ssh, after 60 s
 *   idle with the tunnel (and ddns's standby) up.
 *
 * `tsx bench/tunnel.ts --trace ddns|autossh [--cuts N] [--wans N] [--idle MS]` runs one side without
 * figures and prints what happened after each cut / change, in ms after it: the relay's log (sshd at
 * DEBUG1), ddns's own events, the prober's attempts.
 *
 *   tsx bench/tunnel.ts          (root; uses the bundle, builds it if missing)
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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
const CUTS = 5;
const WANS = 5;
/** The prober's pace: between cuts and during WAN changes / around a cut until traffic is back. */
const PROBE_MS = 50;
const CUT_PROBE_MS = 10;

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
 * The LAN service: one Node process echoing on 127.0.0.1:LOCAL (no process per connection, as a web
 * server would — the lab's socat listener forks twice per connection, tens of ms on a busy machine, which
 * is neither tunnel's time).
 */
async function startEcho(lab: Lab): Promise<{ close(): Promise<void> }> {
  const code = `require('node:net').createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(${LOCAL}, '127.0.0.1', () => console.log('listening'));`;
  const child = lab.spawn('lan', [process.execPath, '-e', code]);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench: the echo service exited (${code})`)));
    child.stdout?.once('data', () => resolve());
  });
  return { close: async () => { const exited = new Promise((r) => child.once('exit', r)); child.kill(); await exited; } };
}

/** One prober connection: opened at `s`, settled at `e` (epoch ms); `ok` when the echo came back, else how it failed. */
interface Attempt { s: number; e: number; how: string }

interface Prober { oks: Attempt[]; all: Attempt[]; child: ChildProcess; stderr(): string; /** Attempts every `ms` from now on (0: none). */ every(ms: number): void }

/**
 * Connections from the internet host to relay:REMOTE every `everyMs` (changed with `every()`), each given
 * 1 s for its echo; every attempt with its start, end (epoch ms) and outcome (ok / refused / timeout / …).
 */
function startProber(lab: Lab, relay: Relay, everyMs: number): Prober {
  const code = `const net = require('node:net');
    const probe = () => {
      const s = Date.now();
      const c = net.connect({ host: ${JSON.stringify(relay.host)}, port: ${REMOTE} });
      let got = '';
      let done = false;
      const end = (how) => { if (done) return; done = true; clearTimeout(t); process.stdout.write(s + ' ' + Date.now() + ' ' + how + '\\n'); c.destroy(); };
      const t = setTimeout(() => end('timeout'), 1000);
      c.on('error', (e) => end(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)));
      c.on('close', () => end('closed'));
      c.on('connect', () => c.write('p\\n'));
      c.on('data', (d) => { got += d; if (got === 'p\\n') end('ok'); });
    };
    let timer;
    const every = (ms) => { clearInterval(timer); if (ms > 0) { probe(); timer = setInterval(probe, ms); } };
    every(${everyMs});
    process.stdin.setEncoding('utf8').on('data', (d) => { for (const l of d.split('\\n')) if (l.trim()) every(Number(l)); });`;
  const child = lab.spawn('wan', [process.execPath, '-e', code]);
  const oks: Attempt[] = [];
  const all: Attempt[] = [];
  let rest = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (err.length < 8192) err += d; });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    rest += d;
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const [a, b, how] = l.split(' ');
      const x = { s: Number(a), e: Number(b), how: how ?? '' };
      if (!x.s || !x.e) continue;
      if (all.length < 200_000) all.push(x);
      if (x.how === 'ok') oks.push(x);
    }
  });
  return { oks, all, child, stderr: () => err, every: (ms) => { child.stdin?.write(`${ms}\n`); } };
}

/** The end (epoch ms) of the first echoed connection opened at or after `from`, or undefined after `capMs`. */
async function trafficAfter(oks: Attempt[], from: number, capMs: number): Promise<number | undefined> {
  const end = Date.now() + capMs;
  for (;;) {
    const hit = oks.find((o) => o.s >= from);
    if (hit) return hit.e;
    if (Date.now() > end) return undefined;
    await sleep(20);
  }
}

/** ddns's log lines (JSON, `time` in epoch ms) as events. */
function ddnsEvents(log: string): { time: number; event: string; rest: Record<string, unknown> }[] {
  return log.split('\n').flatMap((l) => {
    try {
      const { time, event, level: _l, pid: _p, hostname: _h, tunnel: _t, relay: _r, forwards: _f, msg: _m, ...rest } = JSON.parse(l) as Record<string, unknown>;
      const at = typeof time === 'string' ? Date.parse(time) : time;
      return typeof at === 'number' && Number.isFinite(at) && typeof event === 'string' ? [{ time: at, event, rest }] : [];
    } catch { return []; }
  });
}

/**
 * What happened between `t0` and `until`, in ms after t0: the relay's log lines (stamped on arrival), the
 * client's own events (ddns: its log's time), the prober's attempts (runs of the same outcome folded).
 */
function timeline(t0: number, until: number, client: Client, relay: Relay, prober: Attempt[]): string {
  const rows: { at: number; text: string }[] = [];
  for (const l of relay.lines()) if (l.at >= t0 && l.at <= until) rows.push({ at: l.at, text: `relay  ${l.text.replace(/^\S+ \S+ \S+ /, '').slice(0, 110)}` });
  if (client.name === 'ddns') for (const e of ddnsEvents(client.stderr())) if (e.time >= t0 && e.time <= until) rows.push({ at: e.time, text: `ddns   ${e.event} ${JSON.stringify(e.rest)}` });
  for (const m of client.stderr().matchAll(/^TRACE (\d+) (.*)$/gm)) { const at = Number(m[1]); if (at >= t0 && at <= until) rows.push({ at, text: `trace  ${m[2]}` }); }
  let run: { at: number; how: string; n: number; last: number } | undefined;
  const flush = () => { if (run) rows.push({ at: run.at, text: `probe  ${run.how}${run.n > 1 ? ` ×${run.n} (to +${run.last - t0})` : ''}` }); };
  for (const a of prober.filter((x) => x.s >= t0 - 60 && x.s <= until)) {
    if (run && run.how === a.how) { run.n++; run.last = a.s; continue; }
    flush();
    run = { at: a.s, how: a.how, n: 1, last: a.s };
  }
  flush();
  return rows.sort((a, b) => a.at - b.at).map((r) => `    ${String(r.at - t0).padStart(6)} ${r.text}`).join('\n');
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

interface Measured { cutMs: number[]; goneMs: number[]; /** ddns: loss seen / forward granted, ms after the kill */ seenMs: number[]; upMs: number[]; wanMs: (number | undefined)[]; hwmKiB: number; rssKiB: number; log: string }

/** `downMs` of each `tunnel.up` line ddns logged (its own view: from noticing the loss to the forward granted). */
function downMsOf(log: string): number[] {
  return log.split('\n').flatMap((l) => { try { const j = JSON.parse(l) as { event?: string; downMs?: number }; return j.event === 'tunnel.up' && typeof j.downMs === 'number' ? [j.downMs] : []; } catch { return []; } });
}

interface MeasureOptions { cuts: number; wans: number; idleMs: number; probeMs: number; trace: boolean; say: (s: string) => void }

/** ddns's view of one outage from its log, in ms after `t0`: the loss seen (`tunnel.down`), the forward granted (`tunnel.up`). */
function ownView(log: string, t0: number): { seen?: number; up?: number } {
  const events = ddnsEvents(log).filter((e) => e.time >= t0);
  const down = events.find((e) => e.event === 'tunnel.down');
  const up = down && events.find((e) => e.event === 'tunnel.up' && e.time >= down.time);
  return { ...(down ? { seen: down.time - t0 } : {}), ...(up ? { up: up.time - t0 } : {}) };
}

async function measure(lab: Lab, relay: Relay, start: (lab: Lab, relay: Relay) => Client, o: MeasureOptions): Promise<Measured> {
  await freePort(relay);
  const prober = startProber(lab, relay, o.probeMs);
  const client = start(lab, relay);
  const out: Measured = { cutMs: [], goneMs: [], seenMs: [], upMs: [], wanMs: [], hwmKiB: 0, rssKiB: 0, log: '' };
  try {
    const t = Date.now();
    if ((await trafficAfter(prober.oks, t, 30_000)) === undefined) throw new Error(`${client.name}: the tunnel never carried traffic\n${client.stderr()}\n${prober.stderr()}\n${relay.log().slice(-2000)}`);
    await client.steady();
    // Idle: no connections while the memory settles.
    prober.every(0);
    await sleep(o.idleMs);
    const pids = await client.pids();
    out.hwmKiB = pids.reduce((a, p) => a + status(p, 'VmHWM'), 0);
    out.rssKiB = pids.reduce((a, p) => a + status(p, 'VmRSS'), 0);
    o.say(`tunnel: ${client.name} idle VmHWM ${(out.hwmKiB / 1024).toFixed(1)} MiB (pids ${pids.join(' ')})`);
    prober.every(o.probeMs);
    for (let i = 0; i < o.cuts; i++) {
      await client.steady();
      // Dense attempts from the cut until traffic is back, so the figure is not rounded up to the prober's pace.
      prober.every(CUT_PROBE_MS);
      const { t0, gone } = await cutSessions(relay);
      const back = await trafficAfter(prober.oks, gone, 30_000);
      prober.every(o.probeMs);
      out.cutMs.push(back === undefined ? Number.NaN : back - t0);
      out.goneMs.push(gone - t0);
      const own = client.name === 'ddns' ? ownView(client.stderr(), t0) : {};
      if (own.seen !== undefined) out.seenMs.push(own.seen);
      if (own.up !== undefined) out.upMs.push(own.up);
      o.say(`tunnel: ${client.name} relay cut → traffic ${back === undefined ? 'not back' : `${back - t0} ms`} (gone after ${gone - t0} ms${own.seen !== undefined ? `, loss seen after ${own.seen} ms, forward granted after ${own.up ?? '?'} ms` : ''})`);
      if (o.trace) { await sleep(200); o.say(timeline(t0, (back ?? Date.now()) + 100, client, relay, prober.all)); }
      await sleep(1_000);
    }
    for (let i = 0; i < o.wans; i++) {
      await client.steady();
      const addr = `44.0.0.${40 + Math.floor(Math.random() * 150)}`;
      if (o.trace) o.say(`    relay sessions before: ${(await relay.sessions()).join(' ')}; holder ${await relay.holder(REMOTE)}; user procs ${(await run(['pgrep', '-u', relay.user, '-a'])).stdout.replace(/\n/g, ' | ')}`);
      const t0 = Date.now();
      await lab.setPublic4(addr);
      const changed = Date.now();
      const back = await trafficAfter(prober.oks, changed, CAP_MS);
      out.wanMs.push(back === undefined ? undefined : back - t0);
      o.say(`tunnel: ${client.name} WAN → ${addr} → traffic ${back === undefined ? `not back within ${CAP_MS / 1000} s` : `${back - t0} ms`}`);
      if (o.trace) { await sleep(200); o.say(timeline(t0, (back ?? Date.now()) + 100, client, relay, prober.all)); }
      if (o.trace) o.say(`    relay sessions after: ${(await relay.sessions()).join(' ')}; holder ${await relay.holder(REMOTE)}; user procs ${(await run(['pgrep', '-u', relay.user, '-a'])).stdout.replace(/\n/g, ' | ')}`);
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
  const service = await startEcho(lab);
  try {
    relay = await startRelay(lab, { ports: [REMOTE] });
    const ours = await measure(lab, relay, startDdns, { cuts: CUTS, wans: WANS, idleMs: 60_000, probeMs: PROBE_MS, trace: false, say });
    const peer = await measure(lab, relay, startAutossh, { cuts: CUTS, wans: 1, idleMs: 60_000, probeMs: PROBE_MS, trace: false, say });
    await relay.down();
    relay = undefined;
    // The same relay with ClientAliveInterval: does the relay drop the stale session, so autossh gets the port back?
    relay = await startRelay(lab, { ports: [REMOTE], sshd: ['ClientAliveInterval 5', 'ClientAliveCountMax 3'] });
    const peerAlive = await measure(lab, relay, startAutossh, { cuts: 0, wans: 1, idleMs: 0, probeMs: PROBE_MS, trace: false, say });

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
    const cutNote = `the sshd processes of the session holding the port killed by pid on the relay (ddns's standby left alone), timed from the kill to the first echo through the relay from a connection opened after they exited (the relay took ${ms(ours.goneMs)} / ${ms(peer.goneMs)} ms to end them); median of ${CUTS}, each from a steady state (ddns's standby up); ddns ${ms(ours.cutMs)} ms, autossh ${ms(peer.cutMs)} ms; autossh logs in again (OpenSSH's default key exchange, sntrup761x25519, on both ends), ddns's standby asks for the port on its open session — ddns's own log, ms after the kill: loss seen ${ms(ours.seenMs)}, forward granted ${ms(ours.upMs)}; ${ka}`;
    return [
      {
        figure: 'tunnel: relay cuts the session → traffic again', unit: 's', ours: cutOurs, peer: cutPeer, peerName: 'autossh', ...ratio(cutOurs, cutPeer),
        target: '≤ 0.2× autossh', met: cutOurs <= 0.2 * cutPeer,
        note: cutNote,
      },
      {
        figure: 'tunnel: home WAN address changes → traffic again', unit: 's', ours: wanOursMedian, peer: peerS(wanPeer), peerName: 'autossh', ...ratio(wanOursMedian, peerS(wanPeer)),
        target: '≤ 0.2× autossh', met: wanOursMedian <= 0.2 * peerS(wanPeer),
        note: `the carrier NAT's outside address changed (timed from the change to the first echo through the relay); ddns median of ${WANS} (${ms(wanOurs)} ms; its downMs, loss seen → forward granted: ${ms(own.slice(CUTS))} ms), ${capNote(wanPeer)}; the relay keeps the stale sessions and the port — ddns ends them through the key's forced command (the oldest first: after changes in a row that is the previous change's stale standby, then the one holding the port), autossh waits for the relay; \`ddns tunnel\` has no address watcher: it sees the change when its next packet is answered with a reset (at once when traffic is in flight, else at the next keepalive); ${ka}`,
      },
      {
        figure: 'tunnel: WAN change → traffic, relay with ClientAliveInterval 5 × 3', unit: 's', ours: wanOursMedian, peer: peerS(wanPeerAlive), peerName: 'autossh', ...ratio(wanOursMedian, peerS(wanPeerAlive)),
        target: '≤ 0.2× autossh', met: wanOursMedian <= 0.2 * peerS(wanPeerAlive),
        note: `as above, with ClientAliveInterval 5 and ClientAliveCountMax 3 in the relay's sshd_config (ours: the row above — ddns does not need it); ${capNote(wanPeerAlive)} — with connections arriving at the forwarded port (the prober's, every 50 ms) the relay never ended the stale session`,
      },
      {
        figure: 'tunnel: idle peak RSS, ddns tunnel (with standby) vs autossh + ssh', unit: 'MiB', ours: ours.hwmKiB / 1024, peer: peer.hwmKiB / 1024, peerName: 'autossh', ...ratio(ours.hwmKiB, peer.hwmKiB),
        note: `VmHWM after 60 s idle (no connections) with one forward up (ddns: its one node process, the bundle, two SSH sessions: the tunnel and its standby; autossh: autossh + its ssh, summed); VmRSS then: ddns ${(ours.rssKiB / 1024).toFixed(1)} MiB, autossh + ssh ${(peer.rssKiB / 1024).toFixed(1)} MiB`,
      },
    ];
  } finally {
    await service.close();
    await relay?.down();
    await lab.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: v } = parseArgs({ options: { trace: { type: 'string' }, cuts: { type: 'string' }, wans: { type: 'string' }, idle: { type: 'string' }, probe: { type: 'string' } } });
  if (v.trace !== undefined) {
    // A traced run of one client (ddns or autossh) without figures: what happens after each cut / WAN change.
    await ensureBundle();
    const lab = await startLab('cgnat', { fixtures: false });
    const service = await startEcho(lab);
    const relay = await startRelay(lab, { ports: [REMOTE], logLevel: 'DEBUG1' });
    try {
      const say = (x: string) => console.error(x);
      await measure(lab, relay, v.trace === 'autossh' ? startAutossh : startDdns, { cuts: Number(v.cuts ?? 3), wans: Number(v.wans ?? 0), idleMs: Number(v.idle ?? 0), probeMs: Number(v.probe ?? PROBE_MS), trace: true, say });
    } finally {
      await service.close();
      await relay.down();
      await lab.down();
    }
  } else {
    for (const f of await benchTunnel()) console.log(JSON.stringify(f));
  }
}
