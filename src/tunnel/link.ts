/**
 * The seam between the tunnel supervisor (pure) and an SSH implementation: one dial makes one session
 * to the relay with every remote forward of the tunnel in place, or says why not.
 *
 * Contract of a Dial:
 * - resolves (never rejects) within its own bounded time, or soon after `signal` aborts;
 * - `ok: true` only when the relay has accepted *every* forward of the spec (listening now);
 * - a failure is a value whose `kind` says what to do about it: `host-key`, `auth` and `bind` will not
 *   get better by retrying (the supervisor reports them as `failed`), the others are the path's trouble;
 * - it never logs the private key and strips control characters from anything the relay sent.
 * Contract of a Session: `ended` resolves exactly once, with why the session ended (`closed` when the
 * relay ended it, `keepalive` when the path went quiet, `stopped`/`wan-change` when we closed it);
 * `close` cancels the remote forwards, ends the session and resolves once the transport is gone.
 *
 * Contract of a DialStandby (the warm standby): the same connection as a Dial — authenticated, the host
 * key checked — but with no forward asked for. `takeOver` then asks for every forward on it (when the
 * active session has died): a refused forward is asked again a few times (the dead session's port can
 * linger on the relay for a moment until its sshd has gone), each refusal reported through `onRefused`;
 * it never runs the relay's forced command (the standby is not the oldest session of ours, the reaper
 * would end the wrong one). `ok` once every forward is granted: the standby is now the tunnel's session.
 */
import { printable } from '../net/text.js';
import type { TunnelForward, TunnelSpec } from './spec.js';

export type FailureKind = 'host-key' | 'auth' | 'bind' | 'connect' | 'protocol' | 'keepalive' | 'closed' | 'wan-change' | 'stopped';

export interface LinkFailure {
  kind: FailureKind;
  message: string;
  /** For `bind`: the forward the relay refused. */
  forward?: TunnelForward;
}

/** Failures that retrying cannot fix: the configuration or the relay's setup must change. */
export function isPermanent(kind: FailureKind): boolean {
  return kind === 'host-key' || kind === 'auth' || kind === 'bind';
}

export interface Session {
  readonly ended: Promise<LinkFailure>;
  close(reason: LinkFailure): Promise<void>;
}

export type DialResult =
  | { ok: true; session: Session; /** A stale session of ours held a remote port and was ended first. */ reaped: boolean }
  | { ok: false; failure: LinkFailure };

export type Dial = (spec: TunnelSpec, signal: AbortSignal) => Promise<DialResult>;

export interface StandbySession extends Session {
  takeOver(signal: AbortSignal, onRefused?: (refusal: LinkFailure, attempt: number) => void): Promise<{ ok: true } | { ok: false; failure: LinkFailure }>;
}

export type DialStandby = (spec: TunnelSpec, signal: AbortSignal) => Promise<{ ok: true; standby: StandbySession } | { ok: false; failure: LinkFailure }>;

/** An SSH implementation: the dial, and the standby dial where it has one. */
export interface TunnelLink {
  dial: Dial;
  standby?: DialStandby;
}

/** Text from the network, made safe for one log line (the one sanitizer, runs of unsafe characters → a space). */
export function clean(text: string, max = 300): string {
  return printable(text, max, ' ').trim();
}
