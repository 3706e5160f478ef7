/**
 * RFC 2136 dynamic update, signed with TSIG (RFC 8945), sent to the zone's primary — for people who run
 * their own authoritative DNS (BIND, Knot, PowerDNS).
 *
 * Per record: read the name's A/AAAA at the primary (recursion off, authoritative answers only); when
 * every family sent already holds exactly the wanted address, answer `unchanged` without an update.
 * Otherwise one UPDATE replaces each differing RRset (delete RRset + add, applied atomically by the
 * server) with the configured TTL; the answer must be signed with our key (its MAC verified against our
 * request's MAC, its time within the fudge), and the primary is read again to confirm.
 *
 * Answers that need the user are `held` with the RCODE/TSIG error named: NOTAUTH with BADKEY (unknown key
 * or algorithm), BADSIG (wrong secret), BADTIME (clocks apart), NOTAUTH alone (not authoritative for the
 * zone), REFUSED (the update policy does not let the key change the name), NOTZONE (name outside the
 * zone). SERVFAIL, timeouts and answers that do not verify are `failed` (tried again next time).
 */
import { randomInt } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Rfc2136RecordConfig } from '../src/config/schema.js';
import { decodeKeySecret, signMessage, type TsigKey, TSIG_ERROR_NAMES, verifyResponse } from '../src/dns/tsig.js';
import { buildReplaceUpdate, readUpdateAnswer } from '../src/dns/update.js';
import { type Endpoint, exchange, formatEndpoint, normalizeName, queryServer } from '../src/dns/wire.js';
import { describeError } from '../src/net/abort.js';
import { canonicalAddress, type Family } from '../src/net/address.js';
import { type Addresses, type LiveRead, type Outcome, type Provider, type ProviderContext, mapLimit, outcome } from './provider.js';

const CONCURRENCY = 4;
const typeOf = (f: Family): 'A' | 'AAAA' => (f === 4 ? 'A' : 'AAAA');

/** The primary as host + port: `ns1.example.org`, `192.0.2.53`, `2001:db8::53`, `host:5353`, `[2001:db8::53]:5353`. */
export function parseServer(server: string, defaultPort: number): { host: string; port: number } {
  const s = server.trim();
  if (isIP(s)) return { host: s, port: defaultPort };
  const v6 = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/i.exec(s);
  if (v6?.[1] && v6[2]) return { host: v6[1], port: Number(v6[2]) };
  const hp = /^([^:]+):(\d{1,5})$/.exec(s);
  if (hp?.[1] && hp[2]) return { host: hp[1], port: Number(hp[2]) };
  return { host: s, port: defaultPort };
}

async function endpointOf(record: Rfc2136RecordConfig, signal: AbortSignal): Promise<Endpoint | { why: string }> {
  const { host, port } = parseServer(record.server, record.port);
  if (isIP(host)) return { host, port };
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
  try {
    const found = await Promise.race([lookup(host), aborted]);
    return { host: found.address, port };
  } catch (err) {
    return { why: `cannot resolve the primary ${host}: ${describeError(err)}` };
  }
}

export function keyOf(record: Rfc2136RecordConfig): TsigKey | undefined {
  const secret = decodeKeySecret(record.keySecret ?? '');
  return secret ? { name: record.keyName, algorithm: record.keyAlgorithm, secret } : undefined;
}

type Live = { ok: true; addresses: Partial<Record<Family, string[]>> } | { ok: false; why: string };

/** The name's addresses of each family at the primary, asked with recursion off; only authoritative answers count. */
async function readPrimary(server: Endpoint, name: string, families: readonly Family[], ctx: ProviderContext): Promise<Live> {
  const addresses: Partial<Record<Family, string[]>> = {};
  for (const f of families) {
    const res = await queryServer(server, name, typeOf(f), { signal: ctx.signal, timeoutMs: ctx.timeoutMs, recursion: false });
    if (!res.ok) return { ok: false, why: res.why };
    const r = res.response;
    if (!r.aa || (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN')) {
      return { ok: false, why: `${formatEndpoint(server)} answered ${r.rcode}${r.aa ? '' : ' without authority'} for ${name} ${typeOf(f)} — is it the zone's primary?` };
    }
    addresses[f] = r.answers.filter((a) => a.type === typeOf(f) && a.name === normalizeName(name)).map((a) => a.data);
  }
  return { ok: true, addresses };
}

const holds = (live: string[] | undefined, want: string): boolean => live?.length === 1 && canonicalAddress(live[0] as string) === canonicalAddress(want);

/** An UPDATE answer's RCODE + TSIG error → the Outcome (pure; `sent` for updated). */
export function answerOutcome(rcode: string, tsigError: number, record: Pick<Rfc2136RecordConfig, 'keyName' | 'keyAlgorithm' | 'zone' | 'name' | 'server'>): Outcome | undefined {
  const key = `${record.keyName} (${record.keyAlgorithm})`;
  const tsig = TSIG_ERROR_NAMES[tsigError];
  if (tsigError === 17) return outcome.held(`the primary does not know the TSIG key ${key} (${rcode}/BADKEY)`, 'set keyName and keyAlgorithm exactly as in the key statement of the server (named.conf: key "NAME" { algorithm …; })');
  if (tsigError === 16) return outcome.held(`the primary rejected the signature made with key ${record.keyName} (${rcode}/BADSIG) — the secret differs`, 'set keySecret to the secret of that key (base64, as in named.conf or tsig-keygen\'s output)');
  if (tsigError === 18) return outcome.held(`the primary says our clock is too far from its own (${rcode}/BADTIME)`, 'set this host\'s clock right (NTP); TSIG allows 5 minutes either way');
  if (tsigError !== 0) return outcome.held(`the primary answered ${rcode}/${tsig ?? tsigError}`, 'check the key configuration on both sides');
  switch (rcode) {
    case 'NOERROR': return undefined;
    case 'NOTAUTH': return outcome.held(`${record.server} is not authoritative for zone ${record.zone}, or does not let key ${record.keyName} update it (NOTAUTH)`, 'set server to the zone\'s primary and zone to the zone that holds the name');
    case 'REFUSED': return outcome.held(`the primary refused the update of ${record.name} (REFUSED): its allow-update/update-policy does not grant key ${record.keyName} this name`, `allow the key on the server, e.g. update-policy { grant ${record.keyName} name ${normalizeName(record.name)}. A AAAA; };`);
    case 'NOTZONE': return outcome.held(`${record.name} is not inside zone ${record.zone} (NOTZONE)`, 'set zone to the zone that holds the name');
    case 'NOTIMP': return outcome.held(`the server does not do dynamic updates (NOTIMP)`, 'enable dynamic updates for the zone on its primary (allow-update or update-policy)');
    case 'SERVFAIL': return outcome.failed('the primary failed to apply the update (SERVFAIL)');
    default: return outcome.failed(`the primary answered ${rcode}`);
  }
}

async function updateOne(record: Rfc2136RecordConfig, send: Addresses, ctx: ProviderContext, now: () => number): Promise<Outcome> {
  const key = keyOf(record);
  if (!key) return outcome.held('keySecret is not base64', 'set keySecret to the key\'s base64 secret');
  const server = await endpointOf(record, ctx.signal);
  if ('why' in server) return outcome.failed(server.why);
  const families = ([4, 6] as const).filter((f) => send[f] !== undefined);
  const name = normalizeName(record.name);
  const before = await readPrimary(server, name, families, ctx);
  const differ = before.ok ? families.filter((f) => !holds(before.addresses[f], send[f] as string)) : families;
  if (differ.length === 0) return outcome.unchanged(send, `the primary already has ${Object.values(send).join(', ')}`);

  const id = randomInt(0, 65536);
  const message = buildReplaceUpdate(id, record.zone, name, record.ttl, differ.map((f) => ({ type: typeOf(f), addresses: [send[f] as string] })));
  const { wire, mac } = signMessage(message, key, now() / 1000);
  const res = await exchange(server, wire, { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  if (!res.ok) return outcome.failed(res.why);
  const answer = readUpdateAnswer(res.reply);
  if (!answer.ok) return outcome.failed(`undecodable answer from ${formatEndpoint(server)}: ${answer.why}`);
  const verified = verifyResponse(res.reply, key, mac, now() / 1000);
  if (!verified.ok) {
    if (verified.kind === 'server-error') return answerOutcome(answer.rcodeName, verified.error, record) ?? outcome.failed(verified.why);
    // An unsigned refusal still names what went wrong; it just cannot be trusted to mean success.
    if (answer.rcodeName !== 'NOERROR') {
      const o = answerOutcome(answer.rcodeName, 0, record);
      if (o) return o.kind === 'held' ? outcome.failed(`${o.why} (answer not signed: ${verified.why})`) : o;
    }
    return outcome.failed(`the answer from ${formatEndpoint(server)} cannot be trusted: ${verified.why} — not recorded as published`);
  }
  const bad = answerOutcome(answer.rcodeName, verified.error, record);
  if (bad) return bad;
  const after = await readPrimary(server, name, differ, ctx);
  if (after.ok && !differ.every((f) => holds(after.addresses[f], send[f] as string))) {
    const seen = differ.map((f) => `${typeOf(f)} ${(after.addresses[f] ?? []).join(',') || 'none'}`).join('; ');
    return outcome.failed(`the primary accepted the update but serves ${seen} — not recorded as published`);
  }
  return outcome.updated(send, `${differ.map(typeOf).join('+')} replaced at ${formatEndpoint(server)}`);
}

/** The provider with an injectable clock (ms since epoch) for TSIG time. */
export function createRfc2136Provider(now: () => number = Date.now): Provider<Rfc2136RecordConfig> {
  return {
    name: 'rfc2136',
    names: (record) => [normalizeName(record.name)],
    update: (items, ctx) => mapLimit(items, CONCURRENCY, async (item) => {
      const started = performance.now();
      let out: Outcome;
      try {
        out = await updateOne(item.record, item.send, ctx, now);
      } catch (err) {
        out = outcome.failed(`rfc2136: ${describeError(err)}`);
      }
      ctx.log.debug({ event: 'provider.request', provider: 'rfc2136', server: item.record.server, zone: item.record.zone, name: item.record.name, kind: out.kind, ms: Math.round(performance.now() - started) });
      return out;
    }),
    async readLive(record, families, ctx): Promise<LiveRead> {
      const server = await endpointOf(record, ctx.signal);
      if ('why' in server) return { ok: false, why: server.why };
      return readPrimary(server, normalizeName(record.name), families, ctx);
    },
  };
}

export const provider: Provider<Rfc2136RecordConfig> = createRfc2136Provider();
