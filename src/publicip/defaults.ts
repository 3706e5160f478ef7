/**
 * Built-in public-IP sources, used when `ip.sources` is not configured.
 *
 * Several independent operators per family, over three different protocols, so that one operator's
 * outage, one captive portal or one anycast quirk cannot decide the address alone. Every server is named
 * by hostname (never an IP literal): the lab maps these names to its own fixtures through
 * /etc/netns/<host>/hosts, so the defaults themselves are what the tests exercise.
 *
 * `operator` is who runs the service: consensus counts agreeing *operators*, not URLs
 * (icanhazip.com has been run by Cloudflare since 2021, so it is not independent of Cloudflare's trace).
 */
import type { Family } from '../net/address.js';

export type DefaultSource =
  | { type: 'http'; url: string; operator: string; families: Family[] }
  | { type: 'dns'; server: string; name: string; qtype: 'A' | 'AAAA' | 'TXT'; class: 'IN' | 'CH'; operator: string; families: Family[] }
  | { type: 'stun'; server: string; operator: string; families: Family[] };

export const defaultSources: readonly DefaultSource[] = [
  // HTTP echo services
  { type: 'http', url: 'https://api.ipify.org', operator: 'ipify', families: [4] },
  { type: 'http', url: 'https://api6.ipify.org', operator: 'ipify', families: [6] },
  { type: 'http', url: 'https://www.cloudflare.com/cdn-cgi/trace', operator: 'cloudflare', families: [4, 6] },
  { type: 'http', url: 'https://checkip.amazonaws.com', operator: 'aws', families: [4] },
  { type: 'http', url: 'https://ipv6.icanhazip.com', operator: 'cloudflare', families: [6] },
  // DNS "whoami" — the resolver answers with the address the query came from
  { type: 'dns', server: 'resolver1.opendns.com', name: 'myip.opendns.com', qtype: 'A', class: 'IN', operator: 'opendns', families: [4] },
  { type: 'dns', server: 'resolver1.opendns.com', name: 'myip.opendns.com', qtype: 'AAAA', class: 'IN', operator: 'opendns', families: [6] },
  { type: 'dns', server: 'ns1.google.com', name: 'o-o.myaddr.l.google.com', qtype: 'TXT', class: 'IN', operator: 'google', families: [4, 6] },
  { type: 'dns', server: 'one.one.one.one', name: 'whoami.cloudflare', qtype: 'TXT', class: 'CH', operator: 'cloudflare', families: [4, 6] },
  // STUN binding requests (RFC 8489)
  { type: 'stun', server: 'stun.l.google.com:19302', operator: 'google', families: [4, 6] },
  { type: 'stun', server: 'stun.cloudflare.com:3478', operator: 'cloudflare', families: [4, 6] },
];

/** Every hostname the defaults (and the providers' default servers) reach: what the lab must answer for. */
export function defaultHostnames(): string[] {
  const names = new Set<string>();
  for (const s of defaultSources) {
    if (s.type === 'http') names.add(new URL(s.url).hostname);
    else names.add(s.server.replace(/:\d+$/, ''));
  }
  return [...names].sort();
}
