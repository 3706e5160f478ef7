/**
 * The Dial (link.ts) over the `ssh2` library: one SSH connection to the relay, key-only, the relay's
 * host key pinned, SSH keepalives, and a remote forward (`tcpip-forward`) per configured forward.
 *
 * The stale-session answer: when the home's public address changes, the relay's sshd keeps the old
 * session (and its listening port) until TCP gives up, many minutes later, and every new session's
 * forward is refused. When a forward is refused, this adapter opens one exec channel on the *same*
 * connection; the relay's authorized_keys runs its forced command there (`pkill -o -u USER sshd`: the
 * oldest sshd process of the tunnel user, which is the stale session), and the forward is asked again.
 * Without that forced command the exec does nothing harmful and the refusal stands, reported as `bind`.
 * (docs/tunnel.md has the measurements.)
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { ClientChannel, TcpConnectionDetails } from 'ssh2';
import { clean, type Dial, type DialResult, type LinkFailure, type Session, type StandbySession, type TunnelLink } from './link.js';
import type { TunnelForward, TunnelSpec } from './spec.js';
import { fingerprint } from './spec.js';

const { Client } = ssh2;

/** Host key algorithms the client may negotiate for a pinned key of this type (so the relay sends that key). */
function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

function bindText(f: TunnelForward): string {
  return `${f.remoteBind.includes(':') ? `[${f.remoteBind}]` : f.remoteBind}:${f.remotePort}`;
}

const pause = (ms: number) => new Promise<void>((r) => { setTimeout(r, ms); });

export interface Ssh2Options {
  /** Bound on TCP connect + SSH handshake + auth (default 10 s). */
  readyTimeoutMs?: number;
  /** Bound on each forward request and on the reaper's exec (default 5 s). */
  requestTimeoutMs?: number;
  /**
   * Retries of a refused forward after the reaper ran, and the pause between them (default 6 × 50 ms): the
   * ended session frees the port within tens of ms; when the port stays refused the reaper ended a session
   * that did not hold it (after WAN changes in a row the oldest is the previous change's stale standby) and
   * runs again — a long wait there only delayed that.
   */
  rebind?: { tries: number; pauseMs: number };
  /** The reaper is run again (it ends one session, the oldest) while the forward is still refused, up to this many times (default 3). */
  maxReaps?: number;
  /** A standby taking over: retries of a refused forward and the pause between them (default 10 × 100 ms). */
  takeover?: { tries: number; pauseMs: number };
  /** Command sent on the reaper exec; the relay's forced command replaces it. */
  reapCommand?: string;
}

interface Resolved { readyTimeout: number; requestTimeout: number; rebind: { tries: number; pauseMs: number }; maxReaps: number; takeover: { tries: number; pauseMs: number }; reapCommand: string }

function resolved(o: Ssh2Options): Resolved {
  return {
    readyTimeout: o.readyTimeoutMs ?? 10_000, requestTimeout: o.requestTimeoutMs ?? 5_000,
    rebind: o.rebind ?? { tries: 6, pauseMs: 50 }, maxReaps: o.maxReaps ?? 3,
    takeover: o.takeover ?? { tries: 10, pauseMs: 100 }, reapCommand: o.reapCommand ?? 'ddns-reap',
  };
}

/** The dial and the standby dial over ssh2. */
export function ssh2Link(o: Ssh2Options = {}): TunnelLink {
  const r = resolved(o);
  return { dial: (spec, signal) => dial(spec, signal, r), standby: (spec, signal) => standby(spec, signal, r) };
}

export function ssh2Dial(o: Ssh2Options = {}): Dial {
  return ssh2Link(o).dial;
}

const aborted: LinkFailure = { kind: 'connect', message: 'aborted' };

function refusal(f: TunnelForward): LinkFailure {
  return {
    kind: 'bind', forward: f,
    message: `the relay refused to listen on ${bindText(f)}: the port is taken there, or not allowed — authorized_keys needs permitlisten="${bindText(f)}" and sshd_config GatewayPorts clientspecified (for a bind address other than localhost)`,
  };
}

/**
 * One SSH connection to the relay: connect, handshake, host key check and key auth (`open`), then the
 * requests a dial or a takeover needs (`forwardIn`, `reap`), carrying forwarded connections to the local
 * services, and `ended`/`close` as the Session contract says.
 */
class RelayConnection {
  private readonly conn = new Client();
  readonly ended: Promise<LinkFailure>;
  private resolveEnded!: (f: LinkFailure) => void;
  private endReason: LinkFailure | undefined;
  private lastError: LinkFailure | undefined;
  private hostKeySeen: Buffer | undefined;
  private ready = false;
  /** The session is over (`ended` has resolved): no request is sent on it any more. */
  closed = false;
  private readonly sockets = new Set<Socket | ClientChannel>();
  /** Resolves when the socket has finished closing (some time after `ended`). */
  private readonly transportGone: Promise<void>;
  private resolveGone!: () => void;

  constructor(private readonly spec: TunnelSpec, private readonly o: Resolved) {
    this.ended = new Promise<LinkFailure>((r) => { this.resolveEnded = r; });
    this.transportGone = new Promise<void>((r) => { this.resolveGone = r; });
  }

  /**
   * The session is over: `ended` resolves at the first sign — the socket's error or the relay's FIN — not
   * when Node has finished tearing the socket down (on a busy machine that came tens of ms later, and a
   * standby's takeover waits on `ended`).
   */
  private lose(): void {
    if (this.closed) return;
    this.closed = true;
    this.resolveEnded(this.endReason ?? this.lastError ?? { kind: 'closed', message: 'the relay closed the session' });
  }

  /** Connects and authenticates; undefined when ready, else why not (the connection is then gone). */
  open(signal: AbortSignal): Promise<LinkFailure | undefined> {
    const { conn, spec, o } = this;
    return new Promise<LinkFailure | undefined>((resolve) => {
      let settled = false;
      const finish = (f: LinkFailure | undefined) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (f) conn.destroy();
        resolve(f);
      };
      const onAbort = () => finish(aborted);
      if (signal.aborted) { resolve(aborted); return; }
      signal.addEventListener('abort', onAbort, { once: true });

      conn.on('error', (err: Error & { level?: string; code?: string }) => {
        const msg = clean(err.message);
        if (this.hostKeySeen && !this.hostKeySeen.equals(spec.hostKey.blob)) {
          this.lastError = {
            kind: 'host-key',
            message: `the relay's host key does not match the pinned one: pinned ${spec.hostKey.type} ${spec.hostKey.fingerprint}, the relay presented ${fingerprint(this.hostKeySeen)} — refusing to connect (if the relay really changed its key, pin the new one in hostKey)`,
          };
        } else if (err.level === 'client-authentication') {
          this.lastError = { kind: 'auth', message: `the relay refused the key for user ${spec.user} (is its public key in the relay's authorized_keys?): ${msg}` };
        } else if (err.level === 'client-timeout') {
          this.lastError = this.ready
            ? { kind: 'keepalive', message: `no answer to ${spec.keepaliveCountMax} keepalives ${spec.keepaliveMs / 1000} s apart: the path to the relay is dead` }
            : { kind: 'connect', message: `no SSH handshake with ${spec.relay} within ${o.readyTimeout / 1000} s` };
        } else if (err.level === 'client-socket') {
          this.lastError = { kind: this.ready ? 'closed' : 'connect', message: `${this.ready ? 'connection to the relay lost' : `cannot connect to ${spec.relay}`}: ${err.code ?? msg}` };
        } else {
          this.lastError = { kind: 'protocol', message: `ssh: ${msg}` };
        }
        finish(this.lastError);
        // After login every error ends the connection (ssh2 ends or destroys the socket after emitting it).
        if (this.ready) this.lose();
      });
      conn.on('end', () => { if (this.ready) this.lose(); }); // the relay's FIN
      conn.on('close', () => {
        for (const s of this.sockets) s.destroy();
        finish(this.lastError ?? { kind: 'connect', message: `${spec.relay} closed the connection during the handshake` });
        this.lose();
        this.resolveGone();
      });
      conn.on('tcp connection', (info: TcpConnectionDetails, accept, reject) => this.carry(info, accept, reject));
      conn.on('ready', () => { this.ready = true; finish(undefined); });

      try {
        conn.connect({
          host: spec.host,
          port: spec.port,
          username: spec.user,
          privateKey: spec.privateKey,
          tryKeyboard: false,
          readyTimeout: o.readyTimeout,
          keepaliveInterval: spec.keepaliveMs,
          keepaliveCountMax: spec.keepaliveCountMax,
          algorithms: { serverHostKey: hostKeyAlgorithms(spec.hostKey.type) as never },
          hostVerifier: (key: Buffer) => {
            this.hostKeySeen = Buffer.from(key);
            return key.equals(spec.hostKey.blob);
          },
        });
        conn.setNoDelay(true);
      } catch (err) {
        finish({ kind: 'auth', message: `cannot use the private key: ${clean((err as Error).message)}` });
      }
    });
  }

  /** A connection that arrived at one of our remote ports: joined to the local service. */
  private carry(info: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void {
    const f = this.spec.forwards.find((x) => x.remotePort === info.destPort);
    if (!f) { reject(); return; }
    const local = tcpConnect({ host: f.localAddress, port: f.localPort });
    local.once('error', () => { reject(); local.destroy(); });
    local.once('connect', () => {
      const ch = accept();
      this.sockets.add(ch);
      this.sockets.add(local);
      const drop = () => { local.destroy(); ch.destroy(); this.sockets.delete(ch); this.sockets.delete(local); };
      local.removeAllListeners('error');
      local.on('error', drop).on('close', drop);
      ch.on('error', drop).on('close', drop);
      local.pipe(ch).pipe(local);
    });
  }

  /** Asks the relay to listen on f's remote port; false when refused, unanswered or the connection is gone. */
  forwardIn(f: TunnelForward): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), this.o.requestTimeout);
      try {
        this.conn.forwardIn(f.remoteBind, f.remotePort, (err) => { clearTimeout(t); resolve(!err); });
      } catch { clearTimeout(t); resolve(false); } // not connected any more
      void this.ended.then(() => { clearTimeout(t); resolve(false); });
    });
  }

  /** One exec channel: the relay's forced command ends our oldest session. Resolves when it exits (bounded). */
  reap(): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.o.requestTimeout);
      try {
        this.conn.exec(this.o.reapCommand, (err, stream) => {
          if (err) { clearTimeout(t); resolve(); return; }
          stream.resume();
          stream.stderr.resume();
          stream.on('close', () => { clearTimeout(t); resolve(); });
        });
      } catch { clearTimeout(t); resolve(); }
      void this.ended.then(() => { clearTimeout(t); resolve(); });
    });
  }

  /** Why the session is gone (for a request that failed because it was). */
  gone(): LinkFailure {
    return this.lastError ?? { kind: 'closed', message: 'the relay closed the session' };
  }

  async close(reason: LinkFailure): Promise<void> {
    this.endReason ??= reason;
    this.conn.end();
    const gone = await Promise.race([this.transportGone.then(() => true), pause(2_000).then(() => false)]);
    if (!gone) this.conn.destroy();
    await this.transportGone;
  }

  destroy(): void {
    this.conn.destroy();
  }
}

async function dial(spec: TunnelSpec, signal: AbortSignal, o: Resolved): Promise<DialResult> {
  const c = new RelayConnection(spec, o);
  const f = await c.open(signal);
  if (f) return { ok: false, failure: f };
  const onAbort = () => c.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await bindAll(c, spec, signal, o);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function bindAll(c: RelayConnection, spec: TunnelSpec, signal: AbortSignal, o: Resolved): Promise<DialResult> {
  let reaped = false;
  for (const fw of spec.forwards) {
    let ok = await c.forwardIn(fw);
    // Refused: a stale session of ours may hold the port. The forced command ends our oldest session;
    // with a standby there can be two stale ones (the old active and the old standby), so it runs again
    // while the port stays refused — never once the connection is gone (it may have ended this one).
    for (let reaps = 0; !ok && reaps < o.maxReaps && !c.closed && !signal.aborted; reaps++) {
      await c.reap();
      reaped = true;
      for (let i = 0; !ok && i < o.rebind.tries && !c.closed && !signal.aborted; i++) {
        await pause(o.rebind.pauseMs);
        ok = await c.forwardIn(fw);
      }
    }
    if (signal.aborted) { c.destroy(); return { ok: false, failure: aborted }; }
    if (!ok) { c.destroy(); return { ok: false, failure: refusal(fw) }; }
  }
  if (c.closed) return { ok: false, failure: c.gone() };
  const session: Session = { ended: c.ended, close: (reason) => c.close(reason) };
  return { ok: true, session, reaped };
}

async function standby(spec: TunnelSpec, signal: AbortSignal, o: Resolved): Promise<{ ok: true; standby: StandbySession } | { ok: false; failure: LinkFailure }> {
  const c = new RelayConnection(spec, o);
  const f = await c.open(signal);
  if (f) return { ok: false, failure: f };
  const session: StandbySession = {
    ended: c.ended,
    close: (reason) => c.close(reason),
    takeOver: async (sig, onRefused) => {
      const onAbort = () => c.destroy();
      sig.addEventListener('abort', onAbort, { once: true });
      try {
        return await takeOver(c, spec, sig, o, onRefused);
      } finally {
        sig.removeEventListener('abort', onAbort);
      }
    },
  };
  return { ok: true, standby: session };
}

async function takeOver(c: RelayConnection, spec: TunnelSpec, sig: AbortSignal, o: Resolved, onRefused?: (refusal: LinkFailure, attempt: number) => void): Promise<{ ok: true } | { ok: false; failure: LinkFailure }> {
  for (const fw of spec.forwards) {
    let ok = await c.forwardIn(fw);
    for (let i = 0; !ok && i < o.takeover.tries && !c.closed && !sig.aborted; i++) {
      onRefused?.({ kind: 'bind', forward: fw, message: `the relay refused to listen on ${bindText(fw)} — the ended session may still hold the port; asking again` }, i + 1);
      await pause(o.takeover.pauseMs);
      ok = await c.forwardIn(fw);
    }
    if (sig.aborted) return { ok: false, failure: aborted };
    if (c.closed) return { ok: false, failure: c.gone() };
    if (!ok) return { ok: false, failure: refusal(fw) };
  }
  return { ok: true };
}

/** Why this private key cannot be used (encrypted, not a key), or undefined when it can. */
export function privateKeyProblem(text: string): string | undefined {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) return /encrypted/i.test(k.message) ? 'the private key is encrypted — a tunnel key needs no passphrase (protect the file instead)' : `not a usable private key (${clean(k.message)})`;
  return undefined;
}
