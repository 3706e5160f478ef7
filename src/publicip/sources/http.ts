/**
 * HTTP echo source: GET a URL whose body is the caller's address — plain text (api.ipify.org,
 * checkip.amazonaws.com) or Cloudflare's trace format (`/cdn-cgi/trace`, an `ip=` line).
 *
 * The request leaves over the family asked for: the hostname is resolved for that family only and the
 * connection is made with it (an IP-literal URL of the other family is refused before any packet).
 * No redirect is followed (a 3xx is a failure: a captive portal redirects). The body is capped
 * (`maxBytes`, counted as it arrives; the stream is destroyed when over) and the whole exchange —
 * connect, headers, body — is bounded by `timeoutMs`, so a server that drips bytes forever loses.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Family } from '../../net/address.js';
import { withTimeout } from '../../net/abort.js';
import { exchange } from '../../net/http-client.js';
import { evidenceOf, failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { parseAddressBody, type BodyFormat } from '../validate.js';
import { abortKind, describeNetError } from './errors.js';

export const HTTP_MAX_BYTES = 4096;

export interface HttpSourceOptions {
  url: string;
  operator: string;
  families: readonly Family[];
  timeoutMs: number;
  format?: BodyFormat;
  maxBytes?: number;
  id?: string;
  userAgent?: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that only ever yields addresses of `family`. */
function lookupFor(family: Family) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const all = options.all === true;
    dnsLookup(hostname, { family, all, verbatim: true }, (err, address: string | LookupAddress[], fam?: number) => {
      if (err) return callback(err, all ? [] : '', 0);
      if (all) return callback(null, (address as LookupAddress[]).filter((a) => a.family === family));
      callback(null, address as string, fam);
    });
  };
}

export class HttpSource implements Source {
  readonly type = 'http' as const;
  readonly vantage = 'outside' as const;
  readonly id: string;
  readonly operator: string;
  readonly families: readonly Family[];
  private readonly url: URL;
  private readonly o: HttpSourceOptions;

  constructor(o: HttpSourceOptions) {
    this.o = o;
    this.url = new URL(o.url);
    this.id = o.id ?? `http:${this.url.host}${this.url.pathname === '/' ? '' : this.url.pathname}`;
    this.operator = o.operator;
    this.families = o.families;
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    const t0 = performance.now();
    if (!this.families.includes(family)) return failure(family, 'unsupported', `not configured for IPv${family}`, 0);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(host);
    if (literal !== 0 && literal !== family) return failure(family, 'unsupported', `${host} is an IPv${literal} address; it cannot be reached over IPv${family}`, 0);
    if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted before start', 0);

    const maxBytes = this.o.maxBytes ?? HTTP_MAX_BYTES;
    const signal = withTimeout(this.o.timeoutMs, opts.signal);
    try {
      const res = await exchange(this.url, {
        method: 'GET',
        agent: false,
        family,
        lookup: lookupFor(family) as unknown as LookupFunction,
        signal,
        maxBytes,
        readBody: (status) => status === 200,
        headers: { 'user-agent': this.o.userAgent ?? 'ddns (public-ip check)', accept: 'text/plain, */*;q=0.5', connection: 'close' },
      });
      if (!res.ok) {
        return res.declared
          ? failure(family, 'oversize', `body of ${res.bytes} bytes (at most ${maxBytes} accepted)`, since(t0))
          : failure(family, 'oversize', `body over ${maxBytes} bytes`, since(t0), { evidence: evidenceOf(res.partial) });
      }
      if (res.status !== 200) {
        const where = res.headers.location ? ` to ${res.headers.location.slice(0, 80)} (redirects are not followed)` : '';
        return failure(family, 'protocol', `HTTP ${res.status}${where}`, since(t0));
      }
      const body = res.body;
      const evidence = evidenceOf(body);
      const v = parseAddressBody(body, family, this.o.format ?? (this.url.pathname.endsWith('/cdn-cgi/trace') ? 'trace' : 'auto'));
      if (!v.ok) return failure(family, 'invalid', v.why, since(t0), { evidence, ...(v.rejected ? { rejected: v.rejected } : {}) });
      return { ok: true, family, address: v.address, ms: since(t0), evidence };
    } catch (err) {
      const kind = abortKind(signal, opts.signal, err);
      if (kind) return failure(family, kind, kind === 'timeout' ? `no complete answer within ${this.o.timeoutMs} ms` : 'aborted', since(t0));
      return failure(family, 'network', describeNetError(err), since(t0));
    }
  }
}
