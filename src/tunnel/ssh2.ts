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
import { clean, type Dial, type DialResult, type LinkFailure, type Session } from './link.js';
import type { TunnelForward, TunnelSpec } from './spec.js';
import { fingerprint } from './spec.js';

const { Client } = ssh2;

export interface Ssh2Options {
  /** Bound on TCP connect + SSH handshake + auth (default 10 s). */
  readyTimeoutMs?: number;
  /** Bound on each forward request and on the reaper's exec (default 5 s). */
  requestTimeoutMs?: number;
  /** Retries of a refused forward after the reaper ran, and the pause between them (default 5 × 150 ms). */
  rebind?: { tries: number; pauseMs: number };
  /** Command sent on the reaper exec; the relay's forced command replaces it. */
  reapCommand?: string;
}

/** Host key algorithms the client may negotiate for a pinned key of this type (so the relay sends that key). */
function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

function bindText(f: TunnelForward): string {
  return `${f.remoteBind.includes(':') ? `[${f.remoteBind}]` : f.remoteBind}:${f.remotePort}`;
}

const pause = (ms: number) => new Promise<void>((r) => { setTimeout(r, ms); });

export function ssh2Dial(o: Ssh2Options = {}): Dial {
  const readyTimeout = o.readyTimeoutMs ?? 10_000;
  const requestTimeout = o.requestTimeoutMs ?? 5_000;
  const rebind = o.rebind ?? { tries: 5, pauseMs: 150 };
  return (spec, signal) => dial(spec, signal, { readyTimeout, requestTimeout, rebind, reapCommand: o.reapCommand ?? 'ddns-reap' });
}

interface Resolved { readyTimeout: number; requestTimeout: number; rebind: { tries: number; pauseMs: number }; reapCommand: string }

function dial(spec: TunnelSpec, signal: AbortSignal, o: Resolved): Promise<DialResult> {
  return new Promise<DialResult>((resolveDial) => {
    const conn = new Client();
    let hostKeySeen: Buffer | undefined;
    let lastError: LinkFailure | undefined;
    let settled = false;
    let endReason: LinkFailure | undefined;
    let resolveEnded!: (f: LinkFailure) => void;
    const ended = new Promise<LinkFailure>((r) => { resolveEnded = r; });
    const sockets = new Set<Socket | ClientChannel>();

    const finish = (r: DialResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolveDial(r);
    };
    const failDial = (f: LinkFailure) => {
      finish({ ok: false, failure: f });
      conn.destroy();
    };
    const onAbort = () => failDial({ kind: 'connect', message: 'aborted' });
    if (signal.aborted) return resolveDial({ ok: false, failure: { kind: 'connect', message: 'aborted' } });
    signal.addEventListener('abort', onAbort, { once: true });

    conn.on('error', (err: Error & { level?: string; code?: string }) => {
      const msg = clean(err.message);
      if (hostKeySeen && !hostKeySeen.equals(spec.hostKey.blob)) {
        lastError = {
          kind: 'host-key',
          message: `the relay's host key does not match the pinned one: pinned ${spec.hostKey.type} ${spec.hostKey.fingerprint}, the relay presented ${fingerprint(hostKeySeen)} — refusing to connect (if the relay really changed its key, pin the new one in hostKey)`,
        };
      } else if (err.level === 'client-authentication') {
        lastError = { kind: 'auth', message: `the relay refused the key for user ${spec.user} (is its public key in the relay's authorized_keys?): ${msg}` };
      } else if (err.level === 'client-timeout') {
        lastError = settled
          ? { kind: 'keepalive', message: `no answer to ${spec.keepaliveCountMax} keepalives ${spec.keepaliveMs / 1000} s apart: the path to the relay is dead` }
          : { kind: 'connect', message: `no SSH handshake with ${spec.relay} within ${o.readyTimeout / 1000} s` };
      } else if (err.level === 'client-socket') {
        lastError = { kind: settled ? 'closed' : 'connect', message: `${settled ? 'connection to the relay lost' : `cannot connect to ${spec.relay}`}: ${err.code ?? msg}` };
      } else {
        lastError = { kind: 'protocol', message: `ssh: ${msg}` };
      }
      if (!settled) failDial(lastError);
    });
    let binding = false;
    let closed = false;
    conn.on('close', () => {
      closed = true;
      for (const s of sockets) s.destroy();
      // While forwards are being asked for, the binding code reports (a refused bind, not a lost connection).
      if (!settled && !binding) failDial(lastError ?? { kind: 'connect', message: `${spec.relay} closed the connection during the handshake` });
      resolveEnded(endReason ?? lastError ?? { kind: 'closed', message: 'the relay closed the session' });
    });

    conn.on('tcp connection', (info: TcpConnectionDetails, accept, reject) => {
      const f = spec.forwards.find((x) => x.remotePort === info.destPort);
      if (!f) { reject(); return; }
      const local = tcpConnect({ host: f.localAddress, port: f.localPort });
      local.once('error', () => { reject(); local.destroy(); });
      local.once('connect', () => {
        const ch = accept();
        sockets.add(ch);
        sockets.add(local);
        const drop = () => { local.destroy(); ch.destroy(); sockets.delete(ch); sockets.delete(local); };
        local.removeAllListeners('error');
        local.on('error', drop).on('close', drop);
        ch.on('error', drop).on('close', drop);
        local.pipe(ch).pipe(local);
      });
    });

    const forwardIn = (f: TunnelForward) => new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), o.requestTimeout);
      try {
        conn.forwardIn(f.remoteBind, f.remotePort, (err) => { clearTimeout(t); resolve(!err); });
      } catch { clearTimeout(t); resolve(false); } // not connected any more
    });
    /** One exec channel: the relay's forced command ends our stale session. Resolves when it exits (bounded). */
    const reap = () => new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.requestTimeout);
      try {
        conn.exec(o.reapCommand, (err, stream) => {
          if (err) { clearTimeout(t); resolve(); return; }
          stream.resume();
          stream.stderr.resume();
          stream.on('close', () => { clearTimeout(t); resolve(); });
        });
      } catch { clearTimeout(t); resolve(); }
    });

    conn.on('ready', () => {
      binding = true;
      void (async () => {
        let reaped = false;
        for (const f of spec.forwards) {
          let ok = await forwardIn(f);
          if (!ok && !settled) {
            if (!reaped) { await reap(); reaped = true; }
            for (let i = 0; !ok && i < o.rebind.tries && !signal.aborted; i++) {
              await pause(o.rebind.pauseMs);
              ok = await forwardIn(f);
            }
          }
          if (settled) return; // aborted meanwhile
          if (!ok) {
            binding = false;
            failDial({
              kind: 'bind', forward: f,
              message: `the relay refused to listen on ${bindText(f)}: the port is taken there, or not allowed — authorized_keys needs permitlisten="${bindText(f)}" and sshd_config GatewayPorts clientspecified (for a bind address other than localhost)`,
            });
            return;
          }
        }
        binding = false;
        if (settled) return;
        if (closed) { failDial(lastError ?? { kind: 'closed', message: 'the relay closed the session' }); return; }
        const session: Session = {
          ended,
          close: async (reason) => {
            endReason ??= reason;
            conn.end();
            const gone = await Promise.race([ended.then(() => true), pause(2_000).then(() => false)]);
            if (!gone) conn.destroy();
            await ended;
          },
        };
        finish({ ok: true, session, reaped });
      })();
    });

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
          hostKeySeen = Buffer.from(key);
          return key.equals(spec.hostKey.blob);
        },
      });
    } catch (err) {
      failDial({ kind: 'auth', message: `cannot use the private key: ${clean((err as Error).message)}` });
    }
  });
}

/** Why this private key cannot be used (encrypted, not a key), or undefined when it can. */
export function privateKeyProblem(text: string): string | undefined {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) return /encrypted/i.test(k.message) ? 'the private key is encrypted — a tunnel key needs no passphrase (protect the file instead)' : `not a usable private key (${clean(k.message)})`;
  return undefined;
}
