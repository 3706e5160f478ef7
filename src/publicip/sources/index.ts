/**
 * From configuration to `Source`s: `ip.sources` when given, the built-in defaults (defaults.ts)
 * otherwise. Operators default to the server's domain (its last two labels), so two URLs of one company
 * count once unless the configuration says otherwise. Ids are unique (a repeated one gets `#2`, `#3`).
 */
import { isIP } from 'node:net';
import type { IpConfig, IpSourceConfig } from '../../config/schema.js';
import type { Family } from '../../net/address.js';
import { defaultSources, type DefaultSource } from '../defaults.js';
import type { Source } from '../source.js';
import { DnsSource } from './dns.js';
import { HttpSource } from './http.js';
import { InterfaceSource } from './interface.js';
import { parseEndpoint } from './resolve.js';
import { RouterSource, unsupportedRouterQuery, type RouterAddressQuery } from './router.js';
import { StaticSource } from './static.js';
import { StunSource } from './stun.js';

export interface BuildDeps {
  /** How router sources ask the router (default: none available → `unsupported`). */
  routerQuery?: RouterAddressQuery;
  interfaces?: ConstructorParameters<typeof InterfaceSource>[0]['interfaces'];
  inet6?: ConstructorParameters<typeof InterfaceSource>[0]['inet6'];
}

/** `api.ipify.org` → `ipify.org`; an IP literal stays itself. */
export function operatorOf(host: string): string {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (isIP(h) !== 0) return h;
  return h.split('.').slice(-2).join('.');
}

type AnySourceConfig = IpSourceConfig | DefaultSource;

function dnsFamilies(qtype: 'A' | 'AAAA' | 'TXT'): Family[] {
  return qtype === 'A' ? [4] : qtype === 'AAAA' ? [6] : [4, 6];
}

export function buildSource(c: AnySourceConfig, timeoutMs: number, deps: BuildDeps = {}): Source {
  const fam = c.families as Family[] | undefined;
  switch (c.type) {
    case 'http':
      return new HttpSource({ url: c.url, operator: c.operator ?? operatorOf(new URL(c.url).hostname), families: fam ?? [4, 6], timeoutMs });
    case 'dns':
      return new DnsSource({
        server: c.server, name: c.name, qtype: c.qtype, qclass: c.class,
        operator: c.operator ?? operatorOf(parseEndpoint(c.server, 53)?.host ?? c.server), families: fam ?? dnsFamilies(c.qtype), timeoutMs,
      });
    case 'stun':
      return new StunSource({ server: c.server, operator: c.operator ?? operatorOf(parseEndpoint(c.server, 3478)?.host ?? c.server), families: fam ?? [4, 6], timeoutMs });
    case 'upnp':
    case 'natpmp':
    case 'pcp':
      return new RouterSource({ protocol: c.type, query: deps.routerQuery ?? unsupportedRouterQuery, timeoutMs, ...(c.operator ? { operator: c.operator } : {}) });
    case 'interface':
      return new InterfaceSource({ name: c.name, ...(c.operator ? { operator: c.operator } : {}), ...(fam ? { families: fam } : {}), ...(deps.interfaces ? { interfaces: deps.interfaces } : {}), ...(deps.inet6 ? { inet6: deps.inet6 } : {}) });
    case 'static':
      return new StaticSource({ address: c.address, ...(c.operator ? { operator: c.operator } : {}) });
  }
}

/** Renames repeated ids `x`, `x#2`, `x#3` (a source keeps its behaviour; only its label changes). */
function uniqueIds(sources: Source[]): Source[] {
  const seen = new Map<string, number>();
  return sources.map((s) => {
    const n = (seen.get(s.id) ?? 0) + 1;
    seen.set(s.id, n);
    if (n === 1) return s;
    const id = `${s.id}#${n}`;
    return Object.assign(Object.create(Object.getPrototypeOf(s) as object) as Source, s, { id });
  });
}

/** The sources of a configuration (`ip.sources`, else the defaults). */
export function buildSources(ip: Pick<IpConfig, 'sources' | 'timeoutMs'>, deps: BuildDeps = {}): Source[] {
  const list: readonly AnySourceConfig[] = ip.sources ?? defaultSources;
  return uniqueIds(list.map((c) => buildSource(c, ip.timeoutMs, deps)));
}
