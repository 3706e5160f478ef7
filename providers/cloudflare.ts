/**
 * Cloudflare through the official `cloudflare` SDK (v7), loaded lazily: only a config with a cloudflare
 * record pays for it (docs/ARCHITECTURE.md, "Start-up cost").
 *
 * Per record and family: the zone by name (or a 32-hex id), the records of exactly that name and type;
 * one record → `edit` only its content (TTL, proxied and comment stay as they are unless configured);
 * none → create it when `create: true`, else held; several → held with the ids (never pick one).
 * The SDK's own retries are off (`maxRetries: 0`): a 429 becomes `retryAfter` with the server's
 * Retry-After, and the engine decides. API errors that need the user (invalid token, missing
 * permission, unknown zone) are `held` with the fix.
 */
import type { Cloudflare as CloudflareClient } from 'cloudflare';
import type { CloudflareRecordConfig } from '../src/config/schema.js';
import { canonicalAddress, type Family } from '../src/net/address.js';
import { describeError } from '../src/net/abort.js';
import type { Logger } from '../src/log.js';
import { parseRetryAfter } from './http.js';
import { type LiveRead, type Outcome, type Provider, type ProviderContext, type UpdateItem, combine, mapLimit, outcome } from './provider.js';

export { combine };
import { printable } from '../src/net/text.js';

type Sdk = typeof import('cloudflare');
type EditParams = Parameters<CloudflareClient['dns']['records']['edit']>[1];
type CreateParams = Parameters<CloudflareClient['dns']['records']['create']>[0];
interface LiveRecord { id: string; content: string; ttl: number; proxied: boolean; comment: string | null }

const CONCURRENCY = 4;
const ZONE_ID = /^[0-9a-f]{32}$/i;

/**
 * The SDK is loaded with this module (the registry imports it only when a cloudflare record exists), so
 * that loading it — the heaviest import ddns has — happens before any request's timer starts: loading it
 * in the middle of a run blocked the event loop long enough, on a starved machine, to time out the other
 * providers' requests whose replies were waiting.
 */
const sdk: Sdk = await import('cloudflare');

const clients = new Map<string, CloudflareClient>();
const zoneIds = new Map<string, string>();

/** The SDK's own log lines go through our logger (its redaction applies), not the console. */
function sdkLogger(log: Logger): NonNullable<ConstructorParameters<Sdk['Cloudflare']>[0]>['logger'] {
  const at = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, ...rest: unknown[]) => {
    log[level]({ event: 'cloudflare.sdk', message, ...(rest.length > 0 ? { details: rest } : {}) });
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

function clientFor(mod: Sdk, record: CloudflareRecordConfig, timeoutMs: number, log: Logger): CloudflareClient {
  const key = JSON.stringify([record.baseUrl, record.apiToken ?? '', timeoutMs]);
  let c = clients.get(key);
  if (!c) {
    c = new mod.Cloudflare({
      logger: sdkLogger(log),
      apiToken: record.apiToken ?? '',
      baseURL: record.baseUrl,
      maxRetries: 0,
      timeout: timeoutMs,
      // The global fetch honours NODE_EXTRA_CA_CERTS (the lab CA).
      fetch: (input, init) => globalThis.fetch(input, init),
    });
    clients.set(key, c);
  }
  return c;
}

const typeOf = (f: Family): 'A' | 'AAAA' => (f === 4 ? 'A' : 'AAAA');
const fqdn = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** A thrown SDK error → an Outcome. The messages name the zone and what to do, never the token. */
export function errorOutcome(mod: Pick<Sdk, 'APIError' | 'APIConnectionError' | 'APIConnectionTimeoutError' | 'APIUserAbortError'>, err: unknown, record: CloudflareRecordConfig, now: Date = new Date()): Outcome {
  const tokenFix = `create an API token with the permission Zone · DNS · Edit for zone ${record.zone}${ZONE_ID.test(record.zone) ? '' : ' (and Zone · Zone · Read, to find the zone by name)'} and set apiToken`;
  if (err instanceof mod.APIUserAbortError) return outcome.failed('aborted');
  if (err instanceof mod.APIConnectionTimeoutError) return outcome.failed(`${record.baseUrl}: timed out`);
  if (err instanceof mod.APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause;
    return outcome.failed(`cannot reach ${record.baseUrl}: ${describeError(cause ?? err)}`);
  }
  if (err instanceof mod.APIError) {
    const status = err.status ?? 0;
    const errors = Array.isArray(err.errors) ? err.errors : [];
    const codes = errors.map((e) => e.code);
    const text = printable(errors.map((e) => `${e.code}: ${e.message}`).join('; '), 300) || `HTTP ${status}`;
    if (status === 429) {
      return outcome.retryAfter(parseRetryAfter(err.headers?.get('retry-after'), now) ?? 60, `Cloudflare rate limit (429: ${text})`);
    }
    if (status === 403) return outcome.held(`the API token may not do this in zone ${record.zone} (${text})`, tokenFix);
    if (status === 401 || codes.some((c) => c === 10000 || c === 9109 || c === 6003 || c === 6111 || c === 9106 || c === 9103)) {
      return outcome.held(`Cloudflare rejected the API token (${text})`, tokenFix);
    }
    if (status === 404) return outcome.held(`Cloudflare does not know zone ${record.zone} for this token (${text})`, `check zone (a name like example.com or its 32-hex id) and ${tokenFix}`);
    if (status >= 500) return outcome.failed(`Cloudflare failed (HTTP ${status}: ${text})`);
    return outcome.failed(`Cloudflare refused the request (HTTP ${status}: ${text})`);
  }
  return outcome.failed(`Cloudflare: ${describeError(err)}`);
}

const zoneKey = (record: CloudflareRecordConfig): string => JSON.stringify([record.baseUrl, record.apiToken ?? '', fqdn(record.zone)]);

async function zoneId(client: CloudflareClient, record: CloudflareRecordConfig, signal: AbortSignal): Promise<string | Outcome> {
  if (ZONE_ID.test(record.zone)) return record.zone.toLowerCase();
  const key = zoneKey(record);
  const cached = zoneIds.get(key);
  if (cached) return cached;
  const page = await client.zones.list({ name: record.zone.toLowerCase().replace(/\.$/, '') }, { signal });
  const hits = page.result.filter((z) => fqdn(z.name) === fqdn(record.zone));
  if (hits.length === 0) {
    return outcome.held(
      `Cloudflare lists no zone named ${record.zone} for this token`,
      `check zone, and that the API token includes zone ${record.zone} with Zone · Zone · Read (or give the zone's 32-hex id)`,
    );
  }
  if (hits.length > 1) return outcome.held(`Cloudflare lists ${hits.length} zones named ${record.zone}`, 'give the zone\'s 32-hex id as zone');
  const id = (hits[0] as { id: string }).id;
  zoneIds.set(key, id);
  return id;
}

async function liveRecords(client: CloudflareClient, zone: string, name: string, type: 'A' | 'AAAA', signal: AbortSignal): Promise<LiveRecord[]> {
  const page = await client.dns.records.list({ zone_id: zone, type, name: { exact: name }, per_page: 100 }, { signal });
  return page.result
    .filter((r) => fqdn(r.name) === name && r.type === type)
    .map((r) => ({ id: r.id, content: r.content ?? '', ttl: r.ttl, proxied: r.proxied ?? false, comment: r.comment ?? null }));
}

/** Fields the configuration pins (ttl, proxied, comment); the others stay as they are. */
function pinned(record: CloudflareRecordConfig): { ttl?: number; proxied?: boolean; comment?: string } {
  return {
    ...(record.ttl !== undefined ? { ttl: record.ttl } : {}),
    ...(record.proxied !== undefined ? { proxied: record.proxied } : {}),
    ...(record.comment !== undefined ? { comment: record.comment } : {}),
  };
}

async function updateFamily(client: CloudflareClient, zone: string, record: CloudflareRecordConfig, family: Family, address: string, ctx: ProviderContext): Promise<Outcome> {
  const name = fqdn(record.name);
  const type = typeOf(family);
  const live = await liveRecords(client, zone, name, type, ctx.signal);
  const want = pinned(record);
  const sent = { [family]: address };
  if (live.length > 1) {
    return outcome.held(
      `zone ${record.zone} has ${live.length} ${type} records for ${name} (ids ${live.map((r) => r.id).join(', ')}, contents ${live.map((r) => r.content).join(', ')}); ddns will not pick one`,
      `delete the extra ${type} records of ${name} in the Cloudflare dashboard, then change this record's configuration (or remove its entry from the state file) to resume`,
    );
  }
  const one = live[0];
  if (!one) {
    if (!record.create) {
      return outcome.held(`zone ${record.zone} has no ${type} record for ${name}`, `create the ${type} record ${name} in Cloudflare, or set create: true on this record`);
    }
    const params = { zone_id: zone, name, type, content: address, ttl: record.ttl ?? 1, proxied: record.proxied ?? false, ...(record.comment !== undefined ? { comment: record.comment } : {}) } as CreateParams;
    await client.dns.records.create(params, { signal: ctx.signal });
    return outcome.updated(sent, `created ${type} ${name}`);
  }
  const same = canonicalAddress(one.content) === canonicalAddress(address)
    && (want.ttl === undefined || want.ttl === one.ttl)
    && (want.proxied === undefined || want.proxied === one.proxied)
    && (want.comment === undefined || want.comment === (one.comment ?? ''));
  if (same) return outcome.unchanged(sent);
  // PATCH: only the content and the pinned fields; everything else on the record stays.
  const params = { zone_id: zone, content: address, ...want } as unknown as EditParams;
  const res = await client.dns.records.edit(one.id, params, { signal: ctx.signal });
  const got = (res as { content?: string }).content;
  if (got !== undefined && canonicalAddress(got) !== canonicalAddress(address)) {
    return outcome.failed(`Cloudflare answered the edit of ${name} with content ${got}, not ${address} — not recorded as published`);
  }
  return outcome.updated(sent);
}

async function updateOne(item: UpdateItem<CloudflareRecordConfig>, ctx: ProviderContext): Promise<Outcome> {
  const client = clientFor(sdk, item.record, ctx.timeoutMs, ctx.log);
  const started = performance.now();
  const parts: Outcome[] = [];
  try {
    const zone = await zoneId(client, item.record, ctx.signal);
    if (typeof zone !== 'string') return zone;
    for (const family of [4, 6] as const) {
      const address = item.send[family];
      if (address === undefined) continue;
      try {
        parts.push(await updateFamily(client, zone, item.record, family, address, ctx));
      } catch (err) {
        parts.push(errorOutcome(sdk, err, item.record));
      }
    }
  } catch (err) {
    parts.push(errorOutcome(sdk, err, item.record));
  }
  const out = combine(parts);
  // A cached zone id may be stale (zone re-created): look it up again next time anything went wrong.
  if (out.kind === 'held' || out.kind === 'failed') zoneIds.delete(zoneKey(item.record));
  ctx.log.debug({ event: 'provider.request', provider: 'cloudflare', zone: item.record.zone, name: item.record.name, kind: out.kind, ms: Math.round(performance.now() - started) });
  return out;
}

export const provider: Provider<CloudflareRecordConfig> = {
  name: 'cloudflare',
  names: (record) => [fqdn(record.name)],
  update: (items, ctx) => mapLimit(items, CONCURRENCY, (item) => updateOne(item, ctx)),
  // A proxied record resolves to Cloudflare's proxy, never to the address it stores.
  liveFromApi: (record) => record.proxied === true,
  async readLive(record, families, ctx): Promise<LiveRead> {
    const client = clientFor(sdk, record, ctx.timeoutMs, ctx.log);
    try {
      const zone = await zoneId(client, record, ctx.signal);
      if (typeof zone !== 'string') return { ok: false, why: zone.kind === 'held' ? zone.why : 'zone lookup failed' };
      const addresses: Partial<Record<Family, string[]>> = {};
      for (const f of families) addresses[f] = (await liveRecords(client, zone, fqdn(record.name), typeOf(f), ctx.signal)).map((r) => r.content);
      return { ok: true, addresses };
    } catch (err) {
      const o = errorOutcome(sdk, err, record);
      return { ok: false, why: 'why' in o ? o.why : 'unexpected' };
    }
  },
};
