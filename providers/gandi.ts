/**
 * Gandi LiveDNS (API v5, docs/protocols.md "DNS providers"), record sets by name and type:
 * - `GET /domains/<zone>/records/<rrset_name>/<A|AAAA>` → `{ rrset_name, rrset_type, rrset_ttl,
 *   rrset_values }`, 404 when the set does not exist;
 * - `PUT` the same path with `{ rrset_values: [address], rrset_ttl? }` replaces the whole set (201).
 * `rrset_name` is the name relative to the zone, `@` for the apex. Auth: `Authorization: Bearer <personal
 * access token>` (or `Apikey <key>` for the deprecated API keys, `tokenKind: apikey`). 401/403 → held
 * (token, or a token without the LiveDNS permission for this domain); 429 waits as Retry-After says.
 */
import type { GandiRecordConfig } from '../src/config/schema.js';
import { type HttpResult, httpJson } from './http.js';
import type { Outcome, ProviderContext } from './provider.js';
import { type ReadResult, type ZoneApi, answerOutcome, fqdn, parseJson, relativeName, written, zoneProvider } from './zone-api.js';

const LABEL = 'Gandi LiveDNS';
const AUTH_FIX = 'create a personal access token at admin.gandi.net (Organizations → Sharing → Personal Access Token) with "Manage domain name technical configurations" for this domain and set apiToken';

const url = (record: GandiRecordConfig, type: string): URL =>
  new URL(`${record.baseUrl.replace(/\/+$/, '')}/domains/${encodeURIComponent(fqdn(record.zone))}/records/${encodeURIComponent(relativeName(record.name, record.zone) || '@').replace('%40', '@')}/${type}`);
const call = (record: GandiRecordConfig, u: URL, method: 'GET' | 'PUT', body: unknown, ctx: ProviderContext): Promise<HttpResult> =>
  httpJson(u, method, body, { headers: { authorization: `${record.tokenKind === 'apikey' ? 'Apikey' : 'Bearer'} ${record.apiToken ?? ''}` }, signal: ctx.signal, timeoutMs: ctx.timeoutMs });

const api: ZoneApi<GandiRecordConfig> = {
  label: LABEL,
  writes: 'set',
  async read(record, type, ctx): Promise<ReadResult> {
    const res = await call(record, url(record, type), 'GET', undefined, ctx);
    if (res.ok && res.status === 404) return { ok: true, records: [] };
    const bad = answerOutcome(LABEL, res, { auth: AUTH_FIX });
    if (bad) return { ok: false, outcome: bad };
    const parsed = parseJson<{ rrset_ttl?: number; rrset_values?: string[] }>(LABEL, res.ok ? res.body : '');
    if (!parsed.ok) return parsed;
    const ttl = parsed.value.rrset_ttl;
    return { ok: true, records: (parsed.value.rrset_values ?? []).map((v) => ({ id: relativeName(record.name, record.zone) || '@', content: String(v), ...(typeof ttl === 'number' ? { ttl } : {}) })) };
  },
  async write(record, type, address, existing, ctx): Promise<Outcome> {
    const res = await call(record, url(record, type), 'PUT', { rrset_values: [address], ...(record.ttl !== undefined ? { rrset_ttl: record.ttl } : {}) }, ctx);
    const bad = answerOutcome(LABEL, res, {
      auth: AUTH_FIX,
      notFound: { why: `Gandi LiveDNS does not manage the domain ${fqdn(record.zone)} for this token`, fix: `check zone (a domain using Gandi's LiveDNS name servers) and ${AUTH_FIX}` },
    });
    if (bad) return bad;
    return written(LABEL, record, type, address, existing.length === 0);
  },
};

export const provider = zoneProvider('gandi', api);
