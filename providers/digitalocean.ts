/**
 * DigitalOcean DNS (API v2, docs/protocols.md "DNS providers"), `Authorization: Bearer <token>`:
 * - `GET /domains/<zone>/records?type=A&name=<full name>` → `{ domain_records: [{ id, type, name, data,
 *   ttl }] }` (the filter takes the full name; answers carry the relative one, `@` for the apex);
 * - `PUT /domains/<zone>/records/<id>` with `{ type, data, ttl? }` → `{ domain_record }`;
 * - `POST /domains/<zone>/records` with `{ type, name, data, ttl? }` → 201 `{ domain_record }`.
 * Errors `{ id, message }`: 401 bad token, 403 a token without the domain scopes, 404 unknown domain (all
 * held); 429 with `ratelimit-reset` (a Unix time) waits until then. The token is only in the header.
 */
import type { DigitaloceanRecordConfig } from '../src/config/schema.js';
import { type HttpResult, httpJson } from './http.js';
import type { Outcome, ProviderContext } from './provider.js';
import { type AnswerFixes, type ReadResult, type ZoneApi, answerOutcome, fqdn, parseJson, relativeName, written, zoneProvider } from './zone-api.js';

const LABEL = 'DigitalOcean';
const AUTH_FIX = 'create a personal access token (Write scope, or the domain:read and domain:update scopes) in the DigitalOcean control panel (API) and set apiToken';

interface DoRecord { id?: number | string; type?: string; name?: string; data?: string; ttl?: number }

const fixes = (record: DigitaloceanRecordConfig): AnswerFixes => ({
  auth: AUTH_FIX,
  notFound: { why: `DigitalOcean has no domain ${record.zone} (or no such record) for this token`, fix: `check zone (the domain as listed under Networking → Domains) and ${AUTH_FIX}` },
});

const url = (record: DigitaloceanRecordConfig, path: string, query: Record<string, string> = {}): URL => {
  const u = new URL(`${record.baseUrl.replace(/\/+$/, '')}/domains/${encodeURIComponent(fqdn(record.zone))}/records${path}`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
};
const call = (record: DigitaloceanRecordConfig, u: URL, method: 'GET' | 'POST' | 'PUT', body: unknown, ctx: ProviderContext): Promise<HttpResult> =>
  httpJson(u, method, body, { headers: { authorization: `Bearer ${record.apiToken ?? ''}` }, signal: ctx.signal, timeoutMs: ctx.timeoutMs });

const api: ZoneApi<DigitaloceanRecordConfig> = {
  label: LABEL,
  writes: 'one',
  async read(record, type, ctx): Promise<ReadResult> {
    const res = await call(record, url(record, '', { type, name: fqdn(record.name), per_page: '200' }), 'GET', undefined, ctx);
    const bad = answerOutcome(LABEL, res, fixes(record));
    if (bad) return { ok: false, outcome: bad };
    const parsed = parseJson<{ domain_records?: DoRecord[] }>(LABEL, res.ok ? res.body : '');
    if (!parsed.ok) return parsed;
    const want = relativeName(record.name, record.zone) || '@';
    const records = (parsed.value.domain_records ?? [])
      .filter((r) => r.type === type && (r.name ?? '').toLowerCase() === want && r.id !== undefined)
      .map((r) => ({ id: String(r.id), content: r.data ?? '', ...(typeof r.ttl === 'number' ? { ttl: r.ttl } : {}) }));
    return { ok: true, records };
  },
  async write(record, type, address, existing, ctx): Promise<Outcome> {
    const ttl = record.ttl !== undefined ? { ttl: record.ttl } : {};
    const one = existing[0];
    const res = one
      ? await call(record, url(record, `/${encodeURIComponent(one.id)}`), 'PUT', { type, data: address, ...ttl }, ctx)
      : await call(record, url(record, ''), 'POST', { type, name: relativeName(record.name, record.zone) || '@', data: address, ...ttl }, ctx);
    const bad = answerOutcome(LABEL, res, fixes(record));
    if (bad) return bad;
    const parsed = parseJson<{ domain_record?: DoRecord }>(LABEL, res.ok ? res.body : '');
    if (!parsed.ok) return parsed.outcome;
    return written(LABEL, record, type, address, !one, parsed.value.domain_record?.data);
  },
};

export const provider = zoneProvider('digitalocean', api);
