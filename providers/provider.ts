/**
 * The seam between the update engine (src/update) and the DNS providers (this folder).
 *
 * A Provider publishes addresses for records of one kind (`noip`, `cloudflare`, `porkbun`, …).
 * The engine decides *which* records need a request and *what* to send; the provider only speaks its
 * protocol and reports what the server said.
 *
 * Contract of `update(items, ctx)`:
 * - Resolves to exactly one Outcome per item, in the items' order. It never rejects for anything a
 *   server or the network did (timeouts, refused connections, HTTP errors, unexpected bodies, error codes
 *   are all Outcomes); a rejection means a bug in ddns.
 * - It sends only the addresses in `item.send` (already validated global unicast by the engine) and never
 *   lets a server guess an address (no empty `myip`/`ip`).
 * - It may group items of one account into one request where the protocol allows it, and must not send
 *   more items per request than the protocol allows; requests run with bounded concurrency.
 * - `updated`/`unchanged` mean the server confirmed the exact addresses sent; any other address echoed
 *   back is `failed` and must never be recorded as published.
 * - `held` is a fatal answer that needs the user (bad credentials, unknown host, blocked client): the
 *   engine stops sending for that record until its configuration changes. `fix` says what to change.
 * - `retryAfter` means the server asked us to wait (`911`, `dnserr`, HTTP 429 Retry-After).
 * - Every request honours `ctx.signal` and has its own timeout; credentials are never logged and never
 *   appear in an Outcome's text.
 *
 * Contract of `readLive(record, ctx)` (providers with an API that can read records: Cloudflare and the
 * zone APIs of zone-api.ts — Porkbun, Hetzner DNS, DigitalOcean, Gandi): the record's current addresses
 * per family as the provider stores them (which DNS may hide, e.g. a proxied Cloudflare record). Same
 * no-throw rules. The update engine uses it only for records the provider declares through the
 * `liveFromApi` capability; every other record is read through its authoritative DNS servers (src/dns)
 * by the engine, using `names(record)`.
 */
import type { RecordConfig } from '../src/config/schema.js';
import type { Family } from '../src/net/address.js';
import type { Logger } from '../src/log.js';

export type { Family };
export type ProviderName = RecordConfig['provider'];

/** Addresses per family; a family that is absent is not part of the request. */
export type Addresses = Partial<Record<Family, string>>;

export type Outcome =
  /** The server changed the record to the addresses sent. */
  | { kind: 'updated'; addresses: Addresses; detail?: string }
  /** The server already had exactly these addresses. */
  | { kind: 'unchanged'; addresses: Addresses; detail?: string }
  /** Try again no sooner than `seconds` from now. */
  | { kind: 'retryAfter'; seconds: number; why: string }
  /** Fatal for this record until its configuration changes. */
  | { kind: 'held'; why: string; fix: string }
  /** Transport error or an answer we cannot trust; the next run tries again. */
  | { kind: 'failed'; why: string };

export type OutcomeKind = Outcome['kind'];

export interface UpdateItem<R extends RecordConfig = RecordConfig> {
  /** The engine's stable key of this record (state file key). */
  key: string;
  record: R;
  /** What to publish: at least one family. */
  send: Addresses;
}

export interface ProviderContext {
  signal: AbortSignal;
  log: Logger;
  /** Per-request timeout in milliseconds. */
  timeoutMs: number;
}

export type LiveRead =
  | { ok: true; addresses: Partial<Record<Family, string[]>> }
  | { ok: false; why: string };

export interface Provider<R extends RecordConfig = RecordConfig> {
  readonly name: ProviderName;
  /** The fully qualified DNS names this record publishes (for the authoritative lookup and for people). */
  names(record: R): string[];
  update(items: readonly UpdateItem<R>[], ctx: ProviderContext): Promise<Outcome[]>;
  readLive?(record: R, families: readonly Family[], ctx: ProviderContext): Promise<LiveRead>;
  /**
   * Capability: public DNS does not show what this record stores (a proxied Cloudflare record answers
   * with the proxy's addresses), so the engine reads its live value with `readLive`. Absent or false:
   * the authoritative DNS servers are asked.
   */
  liveFromApi?(record: R): boolean;
}

/** The record kind a provider name publishes. */
export type RecordOf<P extends ProviderName> = RecordKinds[P];
type RecordKinds = { [P in ProviderName]: Extract<RecordConfig, { provider: P }> };

/** Loads the provider for `name`, typed for its own record kind (providers/registry by default). */
export type ProviderLoader = <P extends ProviderName>(name: P) => Promise<Provider<RecordOf<P>>>;

/**
 * The longest wait a provider can impose: 24 h. A longer (or absurd, or unparseable) Retry-After is
 * clamped to it, so one bad header can neither crash the date maths nor silence a record for a year.
 */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/** Seconds clamped to 1 … MAX_RETRY_AFTER_SECONDS; NaN counts as the maximum. */
export function clampRetrySeconds(seconds: number): number {
  if (Number.isNaN(seconds)) return MAX_RETRY_AFTER_SECONDS;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(seconds)));
}

export const outcome = {
  updated: (addresses: Addresses, detail?: string): Outcome => ({ kind: 'updated', addresses, ...(detail ? { detail } : {}) }),
  unchanged: (addresses: Addresses, detail?: string): Outcome => ({ kind: 'unchanged', addresses, ...(detail ? { detail } : {}) }),
  retryAfter: (seconds: number, why: string): Outcome => ({ kind: 'retryAfter', seconds: clampRetrySeconds(seconds), why }),
  held: (why: string, fix: string): Outcome => ({ kind: 'held', why, fix }),
  failed: (why: string): Outcome => ({ kind: 'failed', why }),
};

/** Several family outcomes of one record → one: held > retryAfter > failed > updated > unchanged. */
export function combine(parts: readonly Outcome[]): Outcome {
  const find = <K extends Outcome['kind']>(k: K) => parts.filter((p): p is Extract<Outcome, { kind: K }> => p.kind === k);
  const held = find('held');
  if (held.length > 0) return outcome.held(held.map((h) => h.why).join('; '), [...new Set(held.map((h) => h.fix))].join('; '));
  const retry = find('retryAfter');
  if (retry.length > 0) return outcome.retryAfter(Math.max(...retry.map((r) => r.seconds)), retry.map((r) => r.why).join('; '));
  const failed = find('failed');
  if (failed.length > 0) return outcome.failed(failed.map((f) => f.why).join('; '));
  const addresses = Object.assign({}, ...parts.map((p) => ('addresses' in p ? p.addresses : {}))) as Addresses;
  return find('updated').length > 0 ? outcome.updated(addresses) : outcome.unchanged(addresses);
}

/** The one concurrency helper, re-exported so an adapter finds it beside the rest of its seam. */
export { mapLimit } from '../src/net/concurrency.js';
