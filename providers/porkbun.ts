/**
 * Porkbun, JSON API v3 (docs/protocols.md, "DNS providers"). Every call is a POST whose JSON body
 * carries `apikey` and `secretapikey`:
 * - read:   `/dns/retrieveByNameType/<zone>/<A|AAAA>/<sub>` → `{ status: "SUCCESS", records: [{ id,
 *           name, type, content, ttl }] }` (ttl as a string);
 * - edit:   `/dns/editByNameType/<zone>/<A|AAAA>/<sub>` with `content` (and `ttl`);
 * - create: `/dns/create/<zone>` with `name` (the sub-name), `type`, `content` (and `ttl`).
 * `<sub>` is empty for the apex. Errors: `{ status: "ERROR", message }`, HTTP 400 for bad keys or a domain
 * without "API access" (held: both need the user), 429/503 with Retry-After for rate limits.
 * The keys travel only in the body over TLS; no message or log line contains them.
 */
import type { PorkbunRecordConfig } from '../src/config/schema.js';
import { httpJson } from './http.js';
import { type Outcome, type ProviderContext, outcome } from './provider.js';
import { type ApiRecord, type RecordType, type ReadResult, type ZoneApi, answerOutcome, apiMessage, fqdn, parseJson, relativeName, written, zoneProvider } from './zone-api.js';

const LABEL = 'Porkbun';
const AUTH_FIX = 'create an API key pair at porkbun.com/account/api, set apiKey and secretApiKey, and turn on "API ACCESS" for the domain in Domain Management';

interface PorkbunAnswer { status?: string; message?: string; records?: { id?: string | number; content?: string; ttl?: string | number }[] }

function endpoint(record: PorkbunRecordConfig, path: string): URL {
  const base = record.baseUrl.replace(/\/+$/, '');
  return new URL(`${base}/${path.replace(/\/$/, '').split('/').map(encodeURIComponent).join('/')}`);
}

const auth = (record: PorkbunRecordConfig) => ({ apikey: record.apiKey ?? '', secretapikey: record.secretApiKey ?? '' });

/** A Porkbun answer → the parsed body, or the Outcome of its error. Pure. */
export function porkbunAnswer(res: Parameters<typeof answerOutcome>[1], zone: string): { ok: true; value: PorkbunAnswer } | { ok: false; outcome: Outcome } {
  if (res.ok && res.status === 400) {
    const msg = apiMessage(res.body);
    if (/api key|api access|opted in|not authori[sz]ed|permission/i.test(msg)) {
      return { ok: false, outcome: outcome.held(`${LABEL} refused the request for ${zone} (HTTP 400: ${msg})`, AUTH_FIX) };
    }
    if (/invalid domain|domain .*not found|not.*your account/i.test(msg)) {
      return { ok: false, outcome: outcome.held(`${LABEL} does not know the domain ${zone} for these keys (HTTP 400: ${msg})`, `check zone (the domain registered at Porkbun) and ${AUTH_FIX}`) };
    }
  }
  const bad = answerOutcome(LABEL, res, { auth: AUTH_FIX });
  if (bad) return { ok: false, outcome: bad };
  if (!res.ok) return { ok: false, outcome: outcome.failed('unreachable') };
  const parsed = parseJson<PorkbunAnswer>(LABEL, res.body);
  if (!parsed.ok) return parsed;
  if (parsed.value.status !== 'SUCCESS') return { ok: false, outcome: outcome.failed(`${LABEL} answered status ${JSON.stringify(apiMessage(String(parsed.value.status)))}: ${apiMessage(res.body)}`) };
  return parsed;
}

const api: ZoneApi<PorkbunRecordConfig> = {
  label: LABEL,
  writes: 'one',
  async read(record, type: RecordType, ctx: ProviderContext): Promise<ReadResult> {
    const url = endpoint(record, `dns/retrieveByNameType/${fqdn(record.zone)}/${type}/${relativeName(record.name, record.zone)}`);
    const res = await httpJson(url, 'POST', auth(record), { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const a = porkbunAnswer(res, record.zone);
    if (!a.ok) return a;
    const records: ApiRecord[] = (a.value.records ?? []).map((r) => ({
      id: String(r.id ?? ''), content: String(r.content ?? ''), ...(r.ttl !== undefined && /^\d+$/.test(String(r.ttl)) ? { ttl: Number(r.ttl) } : {}),
    }));
    return { ok: true, records };
  },
  async write(record, type, address, existing, ctx): Promise<Outcome> {
    const sub = relativeName(record.name, record.zone);
    const zone = fqdn(record.zone);
    const ttl = record.ttl !== undefined ? { ttl: String(record.ttl) } : {};
    const res = existing.length === 0
      ? await httpJson(endpoint(record, `dns/create/${zone}`), 'POST', { ...auth(record), name: sub, type, content: address, ...ttl }, { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs })
      : await httpJson(endpoint(record, `dns/editByNameType/${zone}/${type}/${sub}`), 'POST', { ...auth(record), content: address, ...ttl }, { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const a = porkbunAnswer(res, record.zone);
    if (!a.ok) return a.outcome;
    return written(LABEL, record, type, address, existing.length === 0);
  },
};

export const provider = zoneProvider('porkbun', api);
