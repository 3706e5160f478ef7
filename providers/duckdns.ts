/**
 * DuckDNS: `GET <server>/update?domains=a,b&token=T&ip=V4&ipv6=V6&verbose=true`
 * (docs/protocols.md, "DNS providers"). With verbose=true the answer is `OK\n<ipv4>\n<ipv6>\nUPDATED|NOCHANGE` or `KO`.
 *
 * `ip` is never empty (DuckDNS would take the caller's address, which may not be the path the record
 * should point to): an IPv6-only update sends the IPv6 address as both `ip` and `ipv6`.
 * Records with the same token, server and addresses share one request; when such a shared request is
 * answered `KO`, each record is retried alone so that the wrong one is named, not all of them.
 */
import type { DuckdnsRecordConfig } from '../src/config/schema.js';
import { canonicalAddress } from '../src/net/address.js';
import { httpGet, parseRetryAfter, safeUrl } from './http.js';
import { type Addresses, type Outcome, type Provider, type ProviderContext, type UpdateItem, mapLimit, outcome } from './provider.js';
import { printable } from '../src/net/text.js';

export const DUCKDNS_SUFFIX = 'duckdns.org';
const MAX_DOMAINS = 50;
const CONCURRENCY = 4;

function subName(d: string): string {
  return d.trim().toLowerCase().replace(/\.$/, '').replace(/\.duckdns\.org$/, '');
}

/** Maps a DuckDNS answer to one Outcome for the whole request. Pure. */
export function parseDuckdns(status: number, body: string, sent: Addresses, domains: readonly string[], retryAfter?: string): Outcome {
  if (status === 429) return outcome.retryAfter(parseRetryAfter(retryAfter) ?? 60, 'DuckDNS answered 429 Too Many Requests');
  if (status >= 500) return outcome.failed(`DuckDNS failed (HTTP ${status})`);
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  const head = lines[0] ?? '';
  if (status === 200 && head === 'KO') {
    return outcome.held(
      `DuckDNS answered KO — the token or the domain ${domains.map((d) => `"${d}"`).join(', ')} is wrong`,
      'copy the token from duckdns.org and list only sub-names of that account (e.g. myhome, without .duckdns.org)',
    );
  }
  if (status !== 200 || head !== 'OK') return outcome.failed(`unexpected DuckDNS answer (HTTP ${status}): ${JSON.stringify(printable(body, 80))}`);
  const [, v4 = '', v6 = '', state = ''] = lines;
  const wrong: string[] = [];
  if (sent[4] && v4 !== sent[4]) wrong.push(`IPv4 "${v4}"`);
  if (sent[6] && canonicalAddress(v6) !== canonicalAddress(sent[6])) wrong.push(`IPv6 "${v6}"`);
  if (wrong.length > 0) {
    return outcome.failed(`DuckDNS answered OK with ${wrong.join(' and ')}, not the address sent (${Object.values(sent).join(',')}) — not recorded as published`);
  }
  if (state === 'UPDATED') return outcome.updated(sent);
  if (state === 'NOCHANGE') return outcome.unchanged(sent);
  return outcome.failed(`unexpected DuckDNS answer: ${JSON.stringify(printable(body, 80))}`);
}

export function updateUrl(server: string, domains: readonly string[], token: string, send: Addresses): URL {
  const u = new URL(server);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/update';
  u.search = '';
  u.searchParams.set('domains', domains.join(','));
  u.searchParams.set('token', token);
  const ip = send[4] ?? send[6];
  if (ip) u.searchParams.set('ip', ip);
  if (send[6]) u.searchParams.set('ipv6', send[6]);
  u.searchParams.set('verbose', 'true');
  return u;
}

interface Group { indexes: number[]; items: UpdateItem<DuckdnsRecordConfig>[]; domains: string[] }

function groups(items: readonly UpdateItem<DuckdnsRecordConfig>[]): Group[] {
  const byKey = new Map<string, Group>();
  const out: Group[] = [];
  items.forEach((item, i) => {
    const r = item.record;
    const domains = r.domains.map(subName);
    const key = JSON.stringify([r.server, r.token ?? '', item.send[4] ?? '', item.send[6] ?? '']);
    let g = byKey.get(key);
    if (!g || g.domains.length + domains.length > MAX_DOMAINS) {
      g = { indexes: [], items: [], domains: [] };
      byKey.set(key, g);
      out.push(g);
    }
    g.indexes.push(i);
    g.items.push(item);
    for (const d of domains) if (!g.domains.includes(d)) g.domains.push(d);
  });
  return out;
}

async function send(group: Group, ctx: ProviderContext): Promise<Outcome> {
  const first = group.items[0] as UpdateItem<DuckdnsRecordConfig>;
  const url = updateUrl(first.record.server, group.domains, first.record.token ?? '', first.send);
  const res = await httpGet(url, { headers: {}, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  const out = res.ok ? parseDuckdns(res.status, res.body, first.send, group.domains, res.headers['retry-after']) : outcome.failed(res.why);
  ctx.log.debug({ event: 'provider.request', provider: 'duckdns', server: safeUrl(url), domains: group.domains, status: res.ok ? res.status : null, ms: res.ms, kind: out.kind });
  return out;
}

export const provider: Provider<DuckdnsRecordConfig> = {
  name: 'duckdns',
  names: (record) => record.domains.map((d) => `${subName(d)}.${DUCKDNS_SUFFIX}`),
  async update(items, ctx) {
    const results = new Array<Outcome>(items.length);
    await mapLimit(groups(items), CONCURRENCY, async (g) => {
      const o = await send(g, ctx);
      if (o.kind === 'held' && g.items.length > 1) {
        // Name the wrong record: ask for each alone.
        for (let j = 0; j < g.items.length; j++) {
          const item = g.items[j] as UpdateItem<DuckdnsRecordConfig>;
          results[g.indexes[j] as number] = await send({ indexes: [], items: [item], domains: item.record.domains.map(subName) }, ctx);
        }
        return;
      }
      for (const idx of g.indexes) results[idx] = o;
    });
    return results;
  },
};
