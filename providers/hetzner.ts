/**
 * Hetzner DNS (the DNS Console API, docs/protocols.md "DNS providers"), header `Auth-API-Token`:
 * - `GET /zones?name=<zone>` → `{ zones: [{ id, name }] }` (404 when there is none);
 * - `GET /records?zone_id=<id>&page=N` → `{ records: [{ id, type, name, value, ttl? }], meta:
 *   { pagination: { last_page } } }` — names relative to the zone, `@` for the apex;
 * - `PUT /records/<id>` / `POST /records` with `{ zone_id, type, name, value, ttl? }` → `{ record }`.
 * 401 → held (the token); 429 waits as Retry-After / RateLimit-Reset say. The token is only in the
 * header; no message or log line contains it.
 */
import type { HetznerRecordConfig } from '../src/config/schema.js';
import { type HttpResult, httpJson } from './http.js';
import { type Outcome, type ProviderContext, outcome } from './provider.js';
import { type ApiRecord, type ReadResult, type ZoneApi, answerOutcome, fqdn, parseJson, relativeName, written, zoneProvider } from './zone-api.js';

const LABEL = 'Hetzner DNS';
const AUTH_FIX = 'create an API token in the Hetzner DNS Console (API tokens) and set apiToken';
const MAX_PAGES = 20;

interface HetznerRecord { id?: string; type?: string; name?: string; value?: string; ttl?: number }

const url = (record: HetznerRecordConfig, path: string, query: Record<string, string> = {}): URL => {
  const u = new URL(`${record.baseUrl.replace(/\/+$/, '')}/${path}`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
};
const call = (record: HetznerRecordConfig, u: URL, method: 'GET' | 'POST' | 'PUT', body: unknown, ctx: ProviderContext): Promise<HttpResult> =>
  httpJson(u, method, body, { headers: { 'auth-api-token': record.apiToken ?? '' }, signal: ctx.signal, timeoutMs: ctx.timeoutMs });

const zoneMissing = (record: HetznerRecordConfig) => ({
  why: `Hetzner DNS has no zone ${record.zone} for this token`,
  fix: `check zone (the zone's name as the DNS Console shows it) and that the token belongs to its project; ${AUTH_FIX}`,
});

async function zoneId(record: HetznerRecordConfig, ctx: ProviderContext): Promise<{ ok: true; id: string } | { ok: false; outcome: Outcome }> {
  const res = await call(record, url(record, 'zones', { name: fqdn(record.zone) }), 'GET', undefined, ctx);
  const bad = answerOutcome(LABEL, res, { auth: AUTH_FIX, notFound: zoneMissing(record) });
  if (bad) return { ok: false, outcome: bad };
  const parsed = parseJson<{ zones?: { id?: string; name?: string }[] }>(LABEL, res.ok ? res.body : '');
  if (!parsed.ok) return parsed;
  const hits = (parsed.value.zones ?? []).filter((z) => fqdn(z.name ?? '') === fqdn(record.zone) && typeof z.id === 'string');
  if (hits.length !== 1) {
    const m = zoneMissing(record);
    return { ok: false, outcome: hits.length === 0 ? outcome.held(m.why, m.fix) : outcome.held(`Hetzner DNS lists ${hits.length} zones named ${record.zone}`, 'remove the duplicate zone in the DNS Console') };
  }
  return { ok: true, id: hits[0]?.id as string };
}

/** Hetzner's relative name for the record: `@` for the apex. */
const hetznerName = (record: HetznerRecordConfig): string => relativeName(record.name, record.zone) || '@';

interface Found extends ApiRecord { zoneId: string }

const api: ZoneApi<HetznerRecordConfig> = {
  label: LABEL,
  writes: 'one',
  async read(record, type, ctx): Promise<ReadResult> {
    const zone = await zoneId(record, ctx);
    if (!zone.ok) return zone;
    const name = hetznerName(record);
    const records: Found[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await call(record, url(record, 'records', { zone_id: zone.id, page: String(page), per_page: '100' }), 'GET', undefined, ctx);
      const bad = answerOutcome(LABEL, res, { auth: AUTH_FIX, notFound: zoneMissing(record) });
      if (bad) return { ok: false, outcome: bad };
      const parsed = parseJson<{ records?: HetznerRecord[]; meta?: { pagination?: { last_page?: number } } }>(LABEL, res.ok ? res.body : '');
      if (!parsed.ok) return parsed;
      for (const r of parsed.value.records ?? []) {
        if (r.type === type && (r.name ?? '').toLowerCase() === name && typeof r.id === 'string') {
          records.push({ id: r.id, content: r.value ?? '', ...(typeof r.ttl === 'number' ? { ttl: r.ttl } : {}), zoneId: zone.id });
        }
      }
      if (page >= (parsed.value.meta?.pagination?.last_page ?? 1)) break;
    }
    return { ok: true, records };
  },
  async write(record, type, address, existing, ctx): Promise<Outcome> {
    let zid = (existing[0] as Found | undefined)?.zoneId;
    if (zid === undefined) {
      const zone = await zoneId(record, ctx);
      if (!zone.ok) return zone.outcome;
      zid = zone.id;
    }
    const body = { zone_id: zid, type, name: hetznerName(record), value: address, ...(record.ttl !== undefined ? { ttl: record.ttl } : {}) };
    const one = existing[0];
    const res = one
      ? await call(record, url(record, `records/${encodeURIComponent(one.id)}`), 'PUT', body, ctx)
      : await call(record, url(record, 'records'), 'POST', body, ctx);
    const bad = answerOutcome(LABEL, res, { auth: AUTH_FIX, notFound: { why: `Hetzner DNS no longer has record ${one?.id ?? ''} of ${fqdn(record.name)}`, fix: 'run again (the record is looked up afresh each time); if it persists, check the zone in the DNS Console' } });
    if (bad) return bad;
    const parsed = parseJson<{ record?: HetznerRecord }>(LABEL, res.ok ? res.body : '');
    if (!parsed.ok) return parsed.outcome;
    return written(LABEL, record, type, address, !one, parsed.value.record?.value);
  },
};

export const provider = zoneProvider('hetzner', api);
