/**
 * The dyndns2 protocol, written once (No-IP, Dyn, dynv6, Dynu, ddnss, self-hosted servers):
 * `GET <server>/nic/update?hostname=a,b&myip=V4&myipv6=V6` with Basic auth and a descriptive User-Agent;
 * one status line per hostname, in order (docs/protocols.md, "DNS providers").
 *
 * Items of one account (server + credentials) that send the same addresses share a request, at most
 * `MAX_HOSTS` hostnames each. Answers map to Outcomes by `parseDyndns2` (pure, table-tested).
 */
import type { Dyndns2PresetRecordConfig, Dyndns2RecordConfig, NoipRecordConfig } from '../src/config/schema.js';
import { canonicalAddress, type Family, familyOf } from '../src/net/address.js';
import { httpGet, parseRetryAfter, safeUrl } from './http.js';
import { type Addresses, type Outcome, type Provider, type ProviderContext, type ProviderName, type UpdateItem, mapLimit, outcome } from './provider.js';
import { printable } from '../src/net/text.js';

export type Dyndns2Like = NoipRecordConfig | Dyndns2RecordConfig | Dyndns2PresetRecordConfig;

/** Hostnames per request (the common server limit; more answers `numhost`). */
export const MAX_HOSTS = 20;
/** `911` / `dnserr`: "retry no sooner than 30 minutes". */
export const SERVER_FAULT_WAIT_SECONDS = 30 * 60;
const CONCURRENCY = 4;

/** Fatal codes: why and what the user must change. */
const HELD: Record<string, (host: string) => { why: string; fix: string }> = {
  nohost: (h) => ({ why: `the server does not know the hostname ${h} in this account (nohost)`, fix: `check hostname "${h}" and that the username owns it` }),
  badauth: () => ({ why: 'the server rejected the username or password (badauth)', fix: 'set the right username and password (No-IP: the account e-mail/username and password, or a DDNS key pair)' }),
  badagent: () => ({ why: 'the server refused this client\'s User-Agent (badagent)', fix: 'this is a ddns bug or a server policy — report it; the record stays untouched until its configuration changes' }),
  '!donator': () => ({ why: 'the request used a feature the account does not have (!donator)', fix: 'upgrade the account or remove the option' }),
  abuse: (h) => ({ why: `the server blocked ${h} for abuse (abuse)`, fix: `unblock ${h} at the provider, then change this record's configuration (or remove its entry from the state file) to resume` }),
  notfqdn: (h) => ({ why: `${h} is not a fully qualified domain name for this server (notfqdn)`, fix: 'set hostname to the full name, e.g. home.example.net' }),
  numhost: () => ({ why: 'the server refused the number of hostnames in one request (numhost)', fix: 'report it: ddns sends at most 20 per request; lower-limit servers need fewer records per account' }),
};
const RETRY: ReadonlySet<string> = new Set(['911', 'dnserr']);
const ONCE: ReadonlySet<string> = new Set(['badauth', 'badagent', '!donator', '911', 'numhost']);

/** Echoed addresses must be exactly the ones sent (order and IPv6 spelling aside). */
function echoMatches(echo: string, sent: Addresses): boolean {
  const got = echo.split(/[\s,]+/).filter((x) => x !== '').map(canonicalAddress);
  if (got.length === 0) return true; // some servers answer a bare `good`
  const want = Object.values(sent).map(canonicalAddress);
  return got.length === want.length && got.every((g) => want.includes(g)) && got.every((g) => familyOf(g) !== undefined);
}

/**
 * Maps one dyndns2 answer to one Outcome per hostname (in order). `status` is the HTTP status, `retryAfter`
 * the header. Pure: no I/O, no clock.
 */
export function parseDyndns2(status: number, body: string, hostnames: readonly string[], sent: Addresses, retryAfter?: string): Outcome[] {
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const all = (o: Outcome): Outcome[] => hostnames.map(() => o);
  if (status === 429) return all(outcome.retryAfter(parseRetryAfter(retryAfter) ?? 60, 'the server answered 429 Too Many Requests'));
  const first = (lines[0] ?? '').split(/\s+/)[0] ?? '';
  const known = first === 'good' || first === 'nochg' || Object.hasOwn(HELD, first) || RETRY.has(first);
  if ((status === 401 || status === 403) && !known) return all(lineOutcome('badauth', hostnames[0] ?? '', sent));
  if (lines.length === 1 && ONCE.has(first)) return all(lineOutcome(lines[0] as string, hostnames[0] ?? '', sent));
  if (lines.length !== hostnames.length) {
    const shown = JSON.stringify(printable(body, 80));
    return all(outcome.failed(status >= 500
      ? `the server failed (HTTP ${status})`
      : `unexpected answer (HTTP ${status}, ${lines.length} lines for ${hostnames.length} hostnames): ${shown}`));
  }
  return hostnames.map((h, i) => lineOutcome(lines[i] as string, h, sent));
}

function lineOutcome(line: string, host: string, sent: Addresses): Outcome {
  const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
  const code = m?.[1] ?? '';
  const rest = m?.[2] ?? '';
  if (code === 'good' || code === 'nochg') {
    if (!echoMatches(rest, sent)) {
      return outcome.failed(`the server answered "${code} ${rest}" for ${host}, not the address sent (${Object.values(sent).join(',')}) — not recorded as published`);
    }
    return code === 'good' ? outcome.updated(sent) : outcome.unchanged(sent);
  }
  const held = Object.hasOwn(HELD, code) ? HELD[code] : undefined;
  if (held) {
    const h = held(host);
    return outcome.held(h.why, h.fix);
  }
  if (RETRY.has(code)) return outcome.retryAfter(SERVER_FAULT_WAIT_SECONDS, `the server reported a fault (${code}); retrying no sooner than 30 minutes`);
  return outcome.failed(`unexpected answer for ${host}: ${JSON.stringify(printable(line, 80))}`);
}

/** The update URL: `<server>/nic/update` unless the server URL already has a path. */
export function updateUrl(server: string): URL {
  const u = new URL(server);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/nic/update';
  u.search = '';
  return u;
}

interface Batch<R extends Dyndns2Like> { indexes: number[]; items: UpdateItem<R>[] }

/** Groups items by account and addresses sent, then cuts groups to MAX_HOSTS, keeping input order. */
export function batches<R extends Dyndns2Like>(items: readonly UpdateItem<R>[], max = MAX_HOSTS): Batch<R>[] {
  const groups = new Map<string, Batch<R>>();
  const out: Batch<R>[] = [];
  items.forEach((item, i) => {
    const r = item.record;
    const key = JSON.stringify([r.server, r.username, r.password ?? '', item.send[4] ?? '', item.send[6] ?? '']);
    let g = groups.get(key);
    if (!g || g.items.length >= max) {
      g = { indexes: [], items: [] };
      groups.set(key, g);
      out.push(g);
    }
    g.indexes.push(i);
    g.items.push(item);
  });
  return out;
}

/**
 * How a provider's dyndns2 server differs from the common one — everything a preset may say. A preset is
 * one `createDyndns2Provider(name, { … })` line in its own file.
 */
export interface Dyndns2Preset {
  /** Hostnames per request (default MAX_HOSTS; 1 for servers that take one hostname). */
  maxHosts?: number;
  /** Fixed query parameters the server wants (OVH: system=dyndns). */
  params?: Record<string, string>;
  /** Query parameter names of the addresses (default myip / myipv6). */
  v4Param?: string;
  v6Param?: string;
  /** What to send for a family the record does not publish: nothing (default) or the keyword `preserve`
   * (servers that delete the other family's record, or take the caller's address, when it is absent). */
  absent?: 'omit' | 'preserve';
  /** Families the server can publish (default both); another family is held with advice. */
  families?: readonly Family[];
  /** HTTP statuses that mean "the user must act", with what to say (checked before the body). */
  heldStatus?: Readonly<Record<number, { why: string; fix: string }>>;
}

export function createDyndns2Provider<R extends Dyndns2Like>(name: ProviderName, preset: Dyndns2Preset = {}): Provider<R> {
  const v4Param = preset.v4Param ?? 'myip';
  const v6Param = preset.v6Param ?? 'myipv6';
  return {
    name,
    names: (record) => [record.hostname.toLowerCase().replace(/\.$/, '')],
    async update(items, ctx: ProviderContext): Promise<Outcome[]> {
      const results = new Array<Outcome>(items.length);
      await mapLimit(batches(items, preset.maxHosts ?? MAX_HOSTS), CONCURRENCY, async (batch) => {
        const first = batch.items[0] as UpdateItem<R>;
        const { record, send } = first;
        const hostnames = batch.items.map((it) => it.record.hostname);
        const unsupported = ([4, 6] as const).filter((f) => send[f] !== undefined && preset.families && !preset.families.includes(f));
        if (unsupported.length > 0) {
          const o = outcome.held(`${name} publishes only IPv${(preset.families ?? []).join('/IPv')} through this protocol`, `set families: [${(preset.families ?? []).join(', ')}] on this record`);
          batch.indexes.forEach((idx) => { results[idx] = o; });
          return;
        }
        const url = updateUrl(record.server);
        for (const [k, v] of Object.entries(preset.params ?? {})) url.searchParams.set(k, v);
        url.searchParams.set('hostname', hostnames.join(','));
        if (send[4]) url.searchParams.set(v4Param, send[4]);
        else if (preset.absent === 'preserve') url.searchParams.set(v4Param, 'preserve');
        if (send[6]) url.searchParams.set(v6Param, send[6]);
        else if (preset.absent === 'preserve') url.searchParams.set(v6Param, 'preserve');
        const auth = Buffer.from(`${record.username}:${record.password ?? ''}`).toString('base64');
        const res = await httpGet(url, { headers: { authorization: `Basic ${auth}` }, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
        let outs: Outcome[];
        const held = res.ok ? preset.heldStatus?.[res.status] : undefined;
        if (!res.ok) outs = hostnames.map(() => outcome.failed(res.why));
        else if (held) outs = hostnames.map((h) => outcome.held(held.why.replace('{host}', h), held.fix.replace('{host}', h)));
        else outs = parseDyndns2(res.status, res.body, hostnames, send, res.headers['retry-after']);
        ctx.log.debug({ event: 'provider.request', provider: name, server: safeUrl(url), hostnames, status: res.ok ? res.status : null, ms: res.ms, kinds: outs.map((o) => o.kind) });
        batch.indexes.forEach((idx, j) => { results[idx] = outs[j] as Outcome; });
      });
      return results;
    },
  };
}

export const provider: Provider<Dyndns2RecordConfig> = createDyndns2Provider<Dyndns2RecordConfig>('dyndns2');
