/**
 * A tunnel as the supervisor and the SSH adapter see it: the configuration parsed once, checked beyond
 * what the schema can say (the pinned host key's blob, the relay's host and port). Pure.
 *
 * Contract: `tunnelSpec` either returns a spec whose every field is usable or a `problem` naming the
 * key path and what was wrong — it never throws and never puts the private key into a message.
 */
import { createHash } from 'node:crypto';
import type { TunnelConfig } from '../config/schema.js';
import { relayParts } from '../config/plain.js';

export interface TunnelForward {
  remoteBind: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export interface PinnedHostKey {
  /** Key type as the SSH wire names it (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa). */
  type: string;
  /** The public key blob (what the relay sends in its KEX reply). */
  blob: Buffer;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export interface TunnelSpec {
  /** `tunnels[N]` — stable name for logs, metrics and status. */
  name: string;
  index: number;
  user: string;
  host: string;
  port: number;
  /** user@host:port, for messages. */
  relay: string;
  privateKey: string;
  hostKey: PinnedHostKey;
  keepaliveMs: number;
  keepaliveCountMax: number;
  forwards: TunnelForward[];
  /** Keep a warm standby session (logged in, no forward) to take the forwards over when the relay ends the session. */
  standby: boolean;
}

export type SpecResult = { ok: true; spec: TunnelSpec } | { ok: false; problem: string };

/** `SHA256:base64-without-padding` of a key blob, the form OpenSSH prints. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The first length-prefixed string of an SSH key blob: the key type it claims. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n < 1 || n > 64 || blob.length < 4 + n) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

/**
 * Parses a pinned host key: "TYPE BASE64" anywhere in the text, so an `ssh-keyscan` or known_hosts
 * line (hosts first, comment after) works as pasted.
 */
export function parseHostKey(text: string): { ok: true; key: PinnedHostKey } | { ok: false; problem: string } {
  const m = /(?:^|\s)(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa)\s+([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(text);
  if (!m?.[1] || !m[2]) return { ok: false, problem: 'is not an SSH public host key ("ssh-ed25519 AAAA…")' };
  const blob = Buffer.from(m[2], 'base64');
  const claimed = blobType(blob);
  if (claimed !== m[1]) {
    return { ok: false, problem: `says ${m[1]} but its key data ${claimed ? `is a ${claimed} key` : 'is not an SSH key'} — copy the whole line from ssh-keyscan` };
  }
  return { ok: true, key: { type: m[1], blob, fingerprint: fingerprint(blob) } };
}

/** user@host[:port] (host may be [IPv6]); port 22 by default. */
export const parseRelay = relayParts;

/** The spec of `tunnels[index]`; the identity must already be resolved from its file form. */
export function tunnelSpec(t: TunnelConfig, index: number): SpecResult {
  const name = `tunnels[${index}]`;
  const relay = parseRelay(t.relay);
  if (!relay) return { ok: false, problem: `${name}.relay: "${t.relay}" is not user@host[:port]` };
  const hk = parseHostKey(t.hostKey);
  if (!hk.ok) return { ok: false, problem: `${name}.hostKey ${hk.problem}` };
  const privateKey = t.identity ?? '';
  if (!/-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----/.test(privateKey)) {
    return { ok: false, problem: `${name}.identity: not a private key in OpenSSH or PEM format (the file ssh-keygen writes, not the .pub)` };
  }
  const hostPart = relay.host.includes(':') ? `[${relay.host}]` : relay.host;
  return {
    ok: true,
    spec: {
      name, index, user: relay.user, host: relay.host, port: relay.port,
      relay: `${relay.user}@${hostPart}:${relay.port}`,
      privateKey, hostKey: hk.key,
      keepaliveMs: t.keepaliveInterval * 1000, keepaliveCountMax: t.keepaliveCountMax,
      forwards: t.forwards.map((f) => ({ remoteBind: f.remoteBind, remotePort: f.remotePort, localAddress: f.localAddress, localPort: f.localPort })),
      standby: t.standby,
    },
  };
}
