/**
 * A relay ("VPS") for reverse tunnels in the lab: Debian's OpenSSH server in the internet host, with
 * its own config, host key and a restricted tunnel user made for this run (useradd; removed by down()).
 * The authorized_keys line is the README's: `restrict,port-forwarding,permitlisten=…` and the forced
 * command that ends a stale session of the same user.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { must, run, waitFor } from './sh.js';

/** Perl: become a child subreaper, then exec the rest of the command line. */
const SUBREAPER = 'require "syscall.ph"; syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0 or die "prctl PR_SET_CHILD_SUBREAPER: $!"; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!"';

export interface RelayOptions {
  /** Ports the key may listen on (permitlisten 0.0.0.0:PORT each). */
  ports: number[];
  /** Extra sshd_config lines (e.g. ClientAliveInterval 5). */
  sshd?: string[];
  /** sshd's LogLevel (default VERBOSE). */
  logLevel?: string;
  /** The forced command on the key (default: end the user's oldest sshd process); null: none. */
  command?: string | null;
}

export interface Relay {
  user: string;
  host: string;
  port: number;
  /** "ssh-ed25519 AAAA…" of the relay's host key. */
  hostKey: string;
  /** Another ed25519 public key (for the wrong-pin test). */
  otherHostKey: string;
  /** The tunnel user's private key file and text. */
  keyFile: string;
  key: string;
  dir: string;
  /** `tunnels[]` entry for these forwards. */
  tunnel(forwards: { remotePort: number; localPort: number; localAddress?: string }[], extra?: object): object;
  /** Pids of the per-connection sshd processes (the sessions). */
  sessions(): Promise<number[]>;
  /** The relay ends every session (SIGTERM to the per-connection sshd): "the relay dropped us". */
  killSessions(): Promise<void>;
  /** The session (its per-connection sshd's pid) listening on the relay's port `p`, if any. */
  holder(p: number): Promise<number | undefined>;
  /** A session's processes: the per-connection sshd and its unprivileged child. */
  processes(session: number): Promise<number[]>;
  /** The relay's side of a session's TCP connection is destroyed (`ss -K`): the client sees a reset. */
  resetConnection(session: number): Promise<void>;
  /** The relay's sshd goes away with its sessions and comes back (a reboot of the relay's sshd). */
  restart(gapMs?: number): Promise<void>;
  /** Is anything listening on the relay's port `p`? */
  listening(p: number): Promise<boolean>;
  log(): string;
  /** The same log, one entry per line, each stamped (epoch ms) when the line reached us. */
  lines(): { at: number; text: string }[];
  down(): Promise<void>;
}

export async function startRelay(lab: Lab, o: RelayOptions): Promise<Relay> {
  const dir = mkdtempSync('/tmp/ddns-relay-');
  chmodSync(dir, 0o755);
  const user = `ddt${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const host = lab.addr.internet4;
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'relay', '-f', join(dir, 'host_ed25519')]);
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', join(dir, 'other_ed25519')]);
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'tunnel', '-f', join(dir, 'client')]);
  const pub = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const command = o.command === undefined ? `pkill -o -u ${user} sshd` : o.command;
  const opts = ['restrict', 'port-forwarding', ...o.ports.map((p) => `permitlisten="0.0.0.0:${p}"`), ...(command ? [`command="${command}"`] : [])];
  writeFileSync(join(dir, user), `${opts.join(',')} ${pub('client.pub')}\n`, { mode: 0o644 });
  const conf = join(dir, 'sshd_config');
  writeFileSync(conf, [
    `ListenAddress ${host}:22`, `HostKey ${join(dir, 'host_ed25519')}`, `AuthorizedKeysFile ${dir}/%u`,
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'GatewayPorts clientspecified',
    'AllowTcpForwarding remote', 'UsePAM no', 'StrictModes no', `PidFile ${join(dir, 'sshd.pid')}`, `LogLevel ${o.logLevel ?? 'VERBOSE'}`,
    `AllowUsers ${user}`, ...(o.sshd ?? []), '',
  ].join('\n'));
  await must(['mkdir', '-p', '/run/sshd']);
  await must(['useradd', '-M', '-d', dir, '-s', '/bin/sh', user]);
  await must(['usermod', '-p', '*', user]);

  let logText = '';
  let partial = '';
  const stamped: { at: number; text: string }[] = [];
  let sshd: ChildProcess | undefined;
  const start = async () => {
    // sshd is made a child subreaper (prctl PR_SET_CHILD_SUBREAPER, kept across exec), as on a real relay
    // where init reaps at once: an ended session's unprivileged process outlives its monitor as a zombie
    // until something reaps it, and this machine's init took seconds — meanwhile the forced command's
    // `pkill -o` picked that zombie as the oldest session and ended nothing. sshd reaps any child it gets.
    const child = lab.spawn('wan', ['perl', '-e', SUBREAPER, '/usr/sbin/sshd', '-D', '-e', '-f', conf]);
    child.stdout?.resume();
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      logText += d;
      const at = Date.now();
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      if (stamped.length < 20_000) for (const text of parts) stamped.push({ at, text });
    });
    sshd = child;
    await waitFor('the relay sshd to listen', 5_000, async () => {
      if (child.exitCode !== null) throw new Error(`lab: sshd exited ${child.exitCode}: ${logText}`);
      const r = await lab.exec('wan', ['ss', '-Htln', `src ${host}:22`]);
      return r.stdout.trim() ? true : undefined;
    });
  };
  const sessions = async () => {
    if (sshd?.pid === undefined) return [];
    const r = await run(['pgrep', '-P', String(sshd.pid)]);
    return r.stdout.trim().split('\n').filter(Boolean).map(Number);
  };
  const children = async (pid: number) => (await run(['pgrep', '-P', String(pid)])).stdout.trim().split('\n').filter(Boolean).map(Number);
  const parent = (pid: number) => { try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return 0; } };
  const holder = async (p: number) => {
    const out = (await lab.exec('wan', ['ss', '-Htlnp', `sport = :${p}`])).stdout;
    const pids = [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    const live = await sessions();
    for (const pid of pids) {
      if (live.includes(pid)) return pid;
      if (live.includes(parent(pid))) return parent(pid);
    }
    return undefined;
  };
  const processes = async (session: number) => [session, ...(await children(session))];
  const resetConnection = async (session: number) => {
    const procs = await processes(session);
    const out = (await lab.exec('wan', ['ss', '-Htnp', 'state', 'established', `( sport = :22 )`])).stdout;
    for (const line of out.split('\n')) {
      const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      const peer = /\s(\S+):(\d+)\s+users:/.exec(line);
      if (!peer || !pids.some((x) => procs.includes(x))) continue;
      await lab.exec('wan', ['ss', '-K', 'state', 'established', `( sport = :22 and dport = :${peer[2]} )`]);
    }
  };
  const killSessions = async () => {
    for (const pid of await sessions()) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  };
  const stopAll = async () => {
    await killSessions();
    const c = sshd;
    sshd = undefined;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
    }
    // Whatever the user still runs (a session that outlived its parent).
    await run(['pkill', '-KILL', '-u', user]);
  };
  await start();
  const [tunnelKey, hostKeyLine, otherLine] = [readFileSync(join(dir, 'client'), 'utf8'), pub('host_ed25519.pub'), pub('other_ed25519.pub')];
  return {
    user, host, port: 22, hostKey: hostKeyLine, otherHostKey: otherLine, keyFile: join(dir, 'client'), key: tunnelKey, dir,
    tunnel: (forwards, extra = {}) => ({
      relay: `${user}@${host}:22`, identityFile: join(dir, 'client'), hostKey: hostKeyLine,
      forwards: forwards.map((f) => ({ remotePort: f.remotePort, localPort: f.localPort, localAddress: f.localAddress ?? '127.0.0.1' })),
      ...extra,
    }),
    sessions,
    killSessions,
    holder,
    processes,
    resetConnection,
    restart: async (gapMs = 300) => {
      await stopAll();
      await new Promise((r) => setTimeout(r, gapMs));
      await start();
    },
    listening: async (p) => (await lab.exec('wan', ['ss', '-Htln', `sport = :${p}`])).stdout.trim() !== '',
    log: () => logText,
    lines: () => [...stamped],
    down: async () => {
      await stopAll();
      await run(['userdel', user]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
