/**
 * What the update engine knows about a configured record without asking anyone: its stable state key,
 * a label for people, the families it publishes, and the configuration hash that holds are tied to.
 */
import type { Config, RecordConfig } from '../config/schema.js';
import { withHostPart, type Family } from '../net/address.js';
import { recordConfigHash } from '../state/store.js';
import { SECRET_FIELDS, SECRET_MAPS } from '../config/secrets.js';

function host(url: string): string {
  try { return new URL(url).host.toLowerCase(); } catch { return url; }
}
const fqdn = (n: string): string => n.toLowerCase().replace(/\.$/, '');

/** Stable across runs and across changes of credentials (so a hold can be found and then cleared). */
export function recordKey(r: RecordConfig): string {
  switch (r.provider) {
    case 'noip':
    case 'dyndns2': return `${r.provider}:${host(r.server)}:${fqdn(r.hostname)}`;
    case 'duckdns': return `duckdns:${host(r.server)}:${[...r.domains].map(fqdn).sort().join(',')}`;
    case 'cloudflare': return `cloudflare:${fqdn(r.zone)}:${fqdn(r.name)}`;
    default: return `${r.provider}:${'zone' in r ? `${fqdn(r.zone)}:` : ''}${fqdn(nameOf(r))}`;
  }
}

/** The one DNS name a record of any other provider publishes (`hostname` or `name`). */
function nameOf(r: RecordConfig): string {
  return 'hostname' in r ? r.hostname : 'name' in r ? r.name : '';
}

/** For people: `noip home.example.net`. */
export function recordLabel(r: RecordConfig): string {
  switch (r.provider) {
    case 'noip':
    case 'dyndns2': return `${r.provider} ${fqdn(r.hostname)}`;
    case 'duckdns': return `duckdns ${r.domains.join(',')}`;
    case 'cloudflare': return `cloudflare ${fqdn(r.name)}`;
    default: return `${r.provider} ${fqdn(nameOf(r))}`;
  }
}

export function recordFamilies(r: RecordConfig, config: Pick<Config, 'ip'>): Family[] {
  return [...(r.families ?? config.ip.families)].sort() as Family[];
}

/**
 * The address a record publishes for a family, given this host's wanted address: with `ipv6Host`, the
 * IPv6 one is the current /64 prefix plus that host part (another LAN host), so it follows the prefix.
 */
export function recordAddress(r: RecordConfig, family: Family, wanted: string | null): string | null {
  if (wanted === null || family !== 6 || r.ipv6Host === undefined) return wanted;
  return withHostPart(wanted, r.ipv6Host) ?? null;
}

/** The hash of what a hold depends on: credentials, names, server (secrets only hashed; see state.ts). */
export function configHashOf(r: RecordConfig, salt: string): string {
  switch (r.provider) {
    case 'noip':
    case 'dyndns2':
      return recordConfigHash(salt, { provider: r.provider, hostname: fqdn(r.hostname), server: r.server, username: r.username }, r.password);
    case 'duckdns':
      return recordConfigHash(salt, { provider: r.provider, domains: [...r.domains].map(fqdn).sort(), server: r.server }, r.token);
    case 'cloudflare':
      return recordConfigHash(salt, { provider: r.provider, zone: fqdn(r.zone), name: fqdn(r.name), baseUrl: r.baseUrl, create: String(r.create) }, r.apiToken);
    default: {
      // Every other provider: all plain fields count; the secrets (and secret maps) only as a digest.
      const secretKeys = new Set([...SECRET_FIELDS.map(([, k]) => k), ...SECRET_MAPS.map(([, k]) => k)]);
      const fields: Record<string, string> = {};
      const secrets: string[] = [];
      for (const [k, v] of Object.entries(r).sort(([a], [b]) => a.localeCompare(b))) {
        if (v === undefined || k === 'families') continue;
        if (secretKeys.has(k)) secrets.push(`${k}=${JSON.stringify(v)}`);
        else fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
      return recordConfigHash(salt, fields, secrets.length > 0 ? secrets.join('\0') : undefined);
    }
  }
}
