/**
 * Namecheap's Dynamic DNS (docs/protocols.md "DNS providers"): `GET <server>/update?host=<sub|@>&domain=
 * <zone>&password=<Dynamic DNS password>&ip=<IPv4>`, one host per request, IPv4 only (an IPv6 address is
 * held with "families: [4]", never sent). The answer is XML with HTTP 200 whatever happened:
 * `<ErrCount>0</ErrCount>` and `<IP>` = the address on success, else `<errors><Err1>…</Err1></errors>`.
 * "Passwords do not match", an unknown domain and "A record not Found" need the user (held); other errors
 * fail. Namecheap does not say whether anything changed, so a success is `updated`; the engine reads the
 * live value from authoritative DNS and calls only when it differs. The password is only in the query:
 * messages show scheme://host/path.
 */
import type { NamecheapRecordConfig } from '../src/config/schema.js';
import { printable } from '../src/net/text.js';
import { httpGet, parseRetryAfter, safeUrl } from './http.js';
import { type Outcome, type Provider, mapLimit, outcome } from './provider.js';
import { fqdn, relativeName } from './zone-api.js';

const PASSWORD_FIX = 'copy the Dynamic DNS password from Namecheap (Domain List → Manage → Advanced DNS → Dynamic DNS, turned on) into password — it is not the account password';

/** The text of the first `<tag>` in an XML answer (entities decoded), printable. Pure. */
function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'i').exec(xml);
  if (!m) return undefined;
  const text = (m[1] ?? '').replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return printable(text.trim(), 200);
}

/** Maps Namecheap's answer to an Outcome. Pure. */
export function parseNamecheap(status: number, body: string, record: Pick<NamecheapRecordConfig, 'name' | 'zone'>, address: string, retryAfter?: string): Outcome {
  if (status === 429) return outcome.retryAfter(parseRetryAfter(retryAfter) ?? 300, 'Namecheap answered 429 Too Many Requests');
  if (status !== 200) return outcome.failed(`Namecheap answered HTTP ${status}`);
  const count = tag(body, 'ErrCount');
  if (count === undefined || !/^\d+$/.test(count)) return outcome.failed(`unexpected Namecheap answer (no ErrCount): ${JSON.stringify(printable(body, 80))}`);
  if (count !== '0') {
    const errors: string[] = [];
    for (let i = 1; i <= Number(count) && i <= 10; i++) { const e = tag(body, `Err${i}`); if (e) errors.push(e); }
    const text = errors.join('; ') || `${count} errors`;
    const name = fqdn(record.name);
    if (/password/i.test(text)) return outcome.held(`Namecheap refused the password for ${fqdn(record.zone)} (${text})`, PASSWORD_FIX);
    if (/domain name not found|invalid domain|domain.*not.*(found|associated)/i.test(text)) {
      return outcome.held(`Namecheap does not know the domain ${fqdn(record.zone)} (${text})`, 'check zone (the domain as registered at Namecheap, e.g. example.com)');
    }
    if (/record not found|no records updated|host.*not found/i.test(text)) {
      return outcome.held(`Namecheap has no A record for ${name} to update (${text})`, `add an "A + Dynamic DNS" record for host ${relativeName(record.name, record.zone) || '@'} in Advanced DNS`);
    }
    return outcome.failed(`Namecheap refused the update of ${name} (${text})`);
  }
  const ip = tag(body, 'IP');
  if (ip !== undefined && ip !== address) return outcome.failed(`Namecheap answered IP ${JSON.stringify(ip)}, not ${address} — not recorded as published`);
  return outcome.updated({ 4: address });
}

export function updateUrl(record: NamecheapRecordConfig, address: string): URL {
  const u = new URL(record.server);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/update';
  u.search = '';
  u.searchParams.set('host', relativeName(record.name, record.zone) || '@');
  u.searchParams.set('domain', fqdn(record.zone));
  u.searchParams.set('password', record.password ?? '');
  u.searchParams.set('ip', address);
  return u;
}

export const provider: Provider<NamecheapRecordConfig> = {
  name: 'namecheap',
  names: (record) => [fqdn(record.name)],
  update: (items, ctx) => mapLimit(items, 4, async (item) => {
    if (item.send[6] !== undefined) {
      return outcome.held(`Namecheap's Dynamic DNS publishes only IPv4 (A records); ${fqdn(item.record.name)} was asked for IPv6`, 'set families: [4] on this record');
    }
    const address = item.send[4];
    if (address === undefined) return outcome.failed('nothing to send');
    const url = updateUrl(item.record, address);
    const res = await httpGet(url, { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const out = res.ok ? parseNamecheap(res.status, res.body, item.record, address, res.headers['retry-after']) : outcome.failed(res.why);
    ctx.log.debug({ event: 'provider.request', provider: 'namecheap', server: safeUrl(url), name: item.record.name, status: res.ok ? res.status : null, ms: res.ms, kind: out.kind });
    return out;
  }),
};
