/**
 * FreeDNS (afraid.org), dynamic update interface v2 (docs/protocols.md "DNS providers"):
 * `GET <server>/u/<token>/?address=<address>` — one token per record (the A record and the AAAA record of
 * a name each have their own), IPv6 through the v6 server. The answer is text: `Updated 1 host(s) <name>
 * to <address> in … seconds` (updated), `No IP change detected for <name> with IP <address>, skipping
 * update` (unchanged), `ERROR: …` (an unknown token is held; other errors fail).
 *
 * The token is a secret in the URL's *path*: no message or log line shows the URL beyond
 * `<server>/u/…/`, and the token is never part of an Outcome.
 */
import type { FreednsRecordConfig } from '../src/config/schema.js';
import type { Family } from '../src/net/address.js';
import { canonicalAddress } from '../src/net/address.js';
import { printable } from '../src/net/text.js';
import { httpGet, parseRetryAfter } from './http.js';
import { type Outcome, type Provider, type ProviderContext, combine, mapLimit, outcome } from './provider.js';
import { fqdn } from './zone-api.js';

const TOKEN_FIX = (f: Family) => `copy the ${f === 4 ? 'A' : 'AAAA'} record's update token from freedns.afraid.org (Dynamic DNS → the record → "Dynamic Update Candidates", version 2 URL: the part after /u/) into ${f === 4 ? 'token' : 'token6'}`;

/** Maps FreeDNS's answer to an Outcome. Pure. */
export function parseFreedns(status: number, body: string, name: string, family: Family, address: string, retryAfter?: string): Outcome {
  const text = printable(body.replace(/\s+/g, ' ').trim(), 200);
  const sent = { [family]: address };
  if (status === 429) return outcome.retryAfter(parseRetryAfter(retryAfter) ?? 300, 'FreeDNS answered 429 Too Many Requests');
  if (/^ERROR/i.test(text)) {
    if (/unable to locate|invalid|not found|password|token|key/i.test(text)) return outcome.held(`FreeDNS does not know the update token for ${name} (${text})`, TOKEN_FIX(family));
    return outcome.failed(`FreeDNS refused the update of ${name} (${text})`);
  }
  if (status !== 200) return outcome.failed(`FreeDNS answered HTTP ${status}: ${JSON.stringify(printable(text, 80))}`);
  const echoed = /\b(?:to|with IP)\s+([0-9a-f:.]+)/i.exec(text)?.[1]?.replace(/[.,]$/, '');
  if (echoed !== undefined && canonicalAddress(echoed) !== canonicalAddress(address)) {
    return outcome.failed(`FreeDNS answered with address ${echoed}, not ${address} — not recorded as published`);
  }
  if (/^Updated\b/i.test(text)) return outcome.updated(sent);
  if (/^No IP change detected/i.test(text)) return outcome.unchanged(sent);
  return outcome.failed(`unexpected FreeDNS answer: ${JSON.stringify(printable(text, 80))}`);
}

/** The update URL and how it may be shown (without the token). */
export function updateUrl(server: string, token: string, address: string): { url: URL; shown: string } {
  const base = new URL(server);
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${prefix}/u/${encodeURIComponent(token)}/`);
  url.searchParams.set('address', address);
  return { url, shown: `${base.origin}${prefix}/u/…/` };
}

async function send(record: FreednsRecordConfig, family: Family, address: string, ctx: ProviderContext): Promise<Outcome> {
  const name = fqdn(record.name);
  const token = family === 4 ? record.token : record.token6;
  if (token === undefined) return outcome.held(`${name} has no FreeDNS update token for its ${family === 4 ? 'A' : 'AAAA'} record`, `${TOKEN_FIX(family)}, or set families: [${family === 4 ? 6 : 4}] on this record`);
  const { url, shown } = updateUrl(family === 4 ? record.server : record.server6, token, address);
  const res = await httpGet(url, { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs, shown });
  const out = res.ok ? parseFreedns(res.status, res.body, name, family, address, res.headers['retry-after']) : outcome.failed(res.why);
  ctx.log.debug({ event: 'provider.request', provider: 'freedns', server: shown, name, family, status: res.ok ? res.status : null, ms: res.ms, kind: out.kind });
  return out;
}

export const provider: Provider<FreednsRecordConfig> = {
  name: 'freedns',
  names: (record) => [fqdn(record.name)],
  update: (items, ctx) => mapLimit(items, 4, async (item) => {
    const parts: Outcome[] = [];
    for (const family of [4, 6] as const) {
      const address = item.send[family];
      if (address !== undefined) parts.push(await send(item.record, family, address, ctx));
    }
    return combine(parts);
  }),
};
