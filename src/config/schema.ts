/**
 * The configuration contract (README, "Configuration") as one zod schema.
 *
 * Everything a user may write is here, with defaults; unknown keys are errors (strict objects), so a
 * typo never passes silently. Secrets (`password`, `token`, `apiToken`, notify `url`) arrive already
 * resolved from their `xFile` / `*_FILE` forms (see secrets.ts); the schema still accepts `xFile` keys so
 * that the raw file validates and editors get them from `config schema`.
 * Cross-field rules (TLS for credentials, duplicate forwards) are in `refineConfig` below.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { defaultStatePath } from './paths.js';
import { isIPv6HostPart, isLoopbackHost } from '../net/address.js';
// The plain parts of the contract (names, relay addresses) are in plain.ts: the daemon's process imports them without zod.
import { envName, NOTIFY_TYPES, PROBE_TOKEN_MIN_BYTES, probeTokenTooShort, relayParts, relayTarget } from './plain.js';

const port = z.number().int().min(1).max(65535);
const ipAddress = z.string().refine((s) => isIP(s) !== 0, { message: 'not an IP address' });
const ipv4 = z.string().refine((s) => isIP(s) === 4, { message: 'not an IPv4 address (e.g. 192.168.1.50)' });
/** The host part (low 64 bits) of another LAN host's IPv6 address: `::50`, `::211:32ff:fe12:3456`. */
const ipv6HostPart = z.string().refine((s) => isIPv6HostPart(s), {
  message: 'not an IPv6 host part: write the low 64 bits with a leading :: (e.g. "::50"); the /64 prefix comes from the current address',
});
const httpUrl = z.url({ protocol: /^https?$/, error: 'not an http(s) URL (e.g. https://example.net)' });
const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.?$/i, {
    message: 'not a DNS hostname (e.g. home.example.net)',
  });
const secret = z.string().min(1, { message: 'must not be empty' });
const secretFile = z.string().min(1);
const families = z
  .array(z.literal([4, 6]))
  .min(1)
  .max(2)
  .refine((f) => new Set(f).size === f.length, { message: 'lists a family twice' });
const hostPort = z.string().regex(/^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i, {
  message: 'not HOST:PORT (e.g. 127.0.0.1:9876 or [::1]:9876)',
});

// ---- ip ------------------------------------------------------------------------------------------
const sourceCommon = {
  /** Who runs the service; consensus counts agreeing operators. Defaults to the server's domain. */
  operator: z.string().min(1).optional(),
  families: families.optional(),
};
export const ipSourceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('http'), url: httpUrl, ...sourceCommon }),
  z.strictObject({
    type: z.literal('dns'),
    server: z.string().min(1),
    name: hostname,
    qtype: z.enum(['TXT', 'A', 'AAAA']).default('A'),
    class: z.enum(['IN', 'CH']).default('IN'),
    ...sourceCommon,
  }),
  z.strictObject({ type: z.literal('stun'), server: z.string().min(1), ...sourceCommon }),
  z.strictObject({ type: z.literal('upnp'), ...sourceCommon }),
  z.strictObject({ type: z.literal('natpmp'), ...sourceCommon }),
  z.strictObject({ type: z.literal('pcp'), ...sourceCommon }),
  z.strictObject({ type: z.literal('interface'), name: z.string().min(1), ...sourceCommon }),
  z.strictObject({ type: z.literal('static'), address: ipAddress, ...sourceCommon }),
]);

const ipSchema = z.strictObject({
  families: families.default([4]),
  quorum: z.number().int().min(1).max(10).default(2),
  /** Per-source timeout in milliseconds. */
  timeoutMs: z.number().int().min(100).max(60_000).default(3000),
  sources: z.array(ipSourceSchema).min(1).optional(),
});

function insecureUrl(url: string, allowInsecure: boolean): boolean {
  // Refinements also run when the URL itself failed its format check; that is reported already.
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  return u.protocol === 'http:' && !allowInsecure && !isLoopbackHost(u.hostname);
}

type AnyRecord = { provider: string; allowInsecure?: boolean; server?: string; baseUrl?: string } & Record<string, unknown>;

/**
 * The secret keys each provider requires (default `password`): every entry must be set; an entry
 * `a|b` is satisfied by either key.
 */
const RECORD_SECRET: Readonly<Record<string, readonly string[]>> = {
  duckdns: ['token'], cloudflare: ['apiToken'], rfc2136: ['keySecret'], custom: ['url'],
  porkbun: ['apiKey', 'secretApiKey'], hetzner: ['apiToken'], digitalocean: ['apiToken'], gandi: ['apiToken'], freedns: ['token|token6'],
};
/** The key holding the URL that receives the credentials (default `server`; rfc2136 speaks DNS, not HTTP). */
const RECORD_ENDPOINT: Readonly<Record<string, string | undefined>> = {
  cloudflare: 'baseUrl', custom: 'url', rfc2136: undefined, porkbun: 'baseUrl', hetzner: 'baseUrl', digitalocean: 'baseUrl', gandi: 'baseUrl', freedns: 'server',
};

/** Per record: credentials only over TLS (loopback or allowInsecure excepted), and the secret present. */
function checkRecord(r: AnyRecord, ctx: z.core.$RefinementCtx<AnyRecord>): void {
  const key = Object.hasOwn(RECORD_ENDPOINT, r.provider) ? RECORD_ENDPOINT[r.provider] : 'server';
  const server = key === undefined ? undefined : r[key];
  if (key !== undefined && typeof server === 'string' && insecureUrl(server, r.allowInsecure === true)) {
    ctx.addIssue({
      code: 'custom',
      path: [key],
      input: key === 'url' ? '***' : server,
      message: 'would send credentials over plain http — use https://, or set allowInsecure: true on this record if the server is on a network you trust',
    });
  }
  for (const entry of RECORD_SECRET[r.provider] ?? ['password']) {
    const keys = entry.split('|');
    if (keys.some((k) => r[k] !== undefined || r[`${k}File`] !== undefined)) continue;
    const [secretKey = ''] = keys;
    const either = keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : '';
    ctx.addIssue({
      code: 'custom',
      path: [secretKey],
      input: undefined,
      message: `is required for provider ${r.provider}${either} — set ${secretKey}, ${secretKey}File, or the environment variable DDNS_RECORDS_<index>_${envName(secretKey)}(_FILE)`,
    });
  }
}

/** A zone-API record's `name` must be the zone itself or a name in it. */
function nameInZone(r: { zone: string; name: string }, ctx: z.core.$RefinementCtx<AnyRecord>): void {
  const n = r.name.toLowerCase().replace(/\.$/, '');
  const zone = r.zone.toLowerCase().replace(/\.$/, '');
  if (n !== zone && !n.endsWith(`.${zone}`)) {
    ctx.addIssue({ code: 'custom', path: ['name'], input: r.name, message: `is not in zone ${r.zone} — give the full name (e.g. home.${zone}) and the zone it belongs to` });
  }
}

// ---- records ---------------------------------------------------------------------------------------
const recordCommon = {
  /** Restrict this record to some families (default: `ip.families`). */
  families: families.optional(),
  /**
   * Publish another LAN host's AAAA (a NAS, a VM): the current /64 prefix of this host's IPv6 address
   * plus this host part; the record follows a prefix change. IPv4 is unaffected.
   */
  ipv6Host: ipv6HostPart.optional(),
  /** Permit credentials over plain http to a non-loopback server (not recommended). */
  allowInsecure: z.boolean().default(false),
  /** What to publish: the home's public address, or a tunnel's relay address (`relay` = tunnel 0, `relay:N`). */
  target: z
    .string()
    .regex(/^(public|relay|relay:\d{1,3})$/, { message: 'not a target — one of public, relay, relay:N (N = index into tunnels)' })
    .optional(),
};
const noipRecord = z.strictObject({
  provider: z.literal('noip'),
  hostname,
  username: z.string().min(1),
  password: secret.optional(),
  passwordFile: secretFile.optional(),
  server: httpUrl.default('https://dynupdate.no-ip.com'),
  ...recordCommon,
});
const dyndns2Record = z.strictObject({
  provider: z.literal('dyndns2'),
  server: httpUrl,
  hostname,
  username: z.string().min(1),
  password: secret.optional(),
  passwordFile: secretFile.optional(),
  ...recordCommon,
});
const duckdnsRecord = z.strictObject({
  provider: z.literal('duckdns'),
  domains: z
    .array(z.string().regex(/^[a-z0-9-]+$/i, { message: 'a DuckDNS sub-name without .duckdns.org (e.g. myhome)' }))
    .min(1),
  token: secret.optional(),
  tokenFile: secretFile.optional(),
  server: httpUrl.default('https://www.duckdns.org'),
  ...recordCommon,
});
const cloudflareRecord = z.strictObject({
  provider: z.literal('cloudflare'),
  /** Zone name (example.com) or zone id (32 hex digits). */
  zone: z.string().min(1),
  name: hostname,
  apiToken: secret.optional(),
  apiTokenFile: secretFile.optional(),
  /** Left as they are on the live record unless set here. */
  proxied: z.boolean().optional(),
  ttl: z.number().int().min(1).max(86400).optional(),
  comment: z.string().max(500).optional(),
  create: z.boolean().default(false),
  baseUrl: httpUrl.default('https://api.cloudflare.com/client/v4'),
  ...recordCommon,
});
/** dyndns2 presets: the same record shape as dyndns2 with the provider's server as default. */
const dyndns2Preset = <P extends string>(provider: P, server: string) => z.strictObject({
  provider: z.literal(provider),
  hostname,
  username: z.string().min(1),
  password: secret.optional(),
  passwordFile: secretFile.optional(),
  server: httpUrl.default(server),
  ...recordCommon,
});
const dynuRecord = dyndns2Preset('dynu', 'https://api.dynu.com');
const ovhRecord = dyndns2Preset('ovh', 'https://www.ovh.com');
/** deSEC: username = the domain name (e.g. home.dedyn.io), password = a token of that account. */
const desecRecord = dyndns2Preset('desec', 'https://update.dedyn.io');

/**
 * The fields of a record at a DNS API that edits zones (Porkbun, Hetzner DNS, DigitalOcean, Gandi):
 * the zone, the full name in it, an optional TTL (left as it is when unset), create when missing.
 */
const zoneRecordFields = (baseUrl: string, ttlMin: number) => ({
  /** The zone (the registered domain, e.g. example.com). */
  zone: hostname,
  /** The full name to publish (the zone itself or a name in it). */
  name: hostname,
  /** Set on write and compared on read; unset → the provider's record keeps (or gets) its own. */
  ttl: z.number().int().min(ttlMin).max(86400).optional(),
  create: z.boolean().default(false),
  baseUrl: httpUrl.default(baseUrl),
  ...recordCommon,
});
/** Porkbun (JSON API v3): an API key pair; the domain's "API access" must be on. TTL ≥ 600. */
const porkbunRecord = z.strictObject({
  provider: z.literal('porkbun'),
  apiKey: secret.optional(),
  apiKeyFile: secretFile.optional(),
  secretApiKey: secret.optional(),
  secretApiKeyFile: secretFile.optional(),
  ...zoneRecordFields('https://api.porkbun.com/api/json/v3', 600),
});
/** Hetzner DNS (DNS Console API): an API token of the zone's project. */
const hetznerRecord = z.strictObject({
  provider: z.literal('hetzner'),
  apiToken: secret.optional(),
  apiTokenFile: secretFile.optional(),
  ...zoneRecordFields('https://dns.hetzner.com/api/v1', 60),
});
/** DigitalOcean DNS (API v2): a personal access token with the domain scopes. TTL ≥ 30. */
const digitaloceanRecord = z.strictObject({
  provider: z.literal('digitalocean'),
  apiToken: secret.optional(),
  apiTokenFile: secretFile.optional(),
  ...zoneRecordFields('https://api.digitalocean.com/v2', 30),
});
/** Namecheap Dynamic DNS: the domain's Dynamic DNS password; IPv4 (A records) only. */
const namecheapRecord = z.strictObject({
  provider: z.literal('namecheap'),
  /** The domain registered at Namecheap (example.com). */
  zone: hostname,
  /** The full name to publish (the domain itself or a host in it). */
  name: hostname,
  password: secret.optional(),
  passwordFile: secretFile.optional(),
  server: httpUrl.default('https://dynamicdns.park-your-domain.com'),
  ...recordCommon,
});
/** Gandi LiveDNS (API v5): a personal access token (or a deprecated API key). TTL ≥ 300. */
const gandiRecord = z.strictObject({
  provider: z.literal('gandi'),
  apiToken: secret.optional(),
  apiTokenFile: secretFile.optional(),
  /** `pat` (default): `Authorization: Bearer`; `apikey`: a deprecated API key, `Authorization: Apikey`. */
  tokenKind: z.enum(['pat', 'apikey']).default('pat'),
  ...zoneRecordFields('https://api.gandi.net/v5/livedns', 300),
});
/**
 * FreeDNS (afraid.org) dynamic update v2: each record has its own update token — `token` the A record's,
 * `token6` the AAAA record's (at least one).
 */
const freednsRecord = z.strictObject({
  provider: z.literal('freedns'),
  /** The name the tokens update (for people and the DNS lookup). */
  name: hostname,
  token: secret.optional(),
  tokenFile: secretFile.optional(),
  token6: secret.optional(),
  token6File: secretFile.optional(),
  server: httpUrl.default('https://sync.afraid.org'),
  server6: httpUrl.default('https://v6.sync.afraid.org'),
  ...recordCommon,
});

const tsigAlgorithm = z.enum(['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']);
const base64Secret = secret.refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s.trim()) && s.trim().length % 4 === 0, {
  message: 'not a base64 key secret (the secret "…" of the key statement in named.conf, or tsig-keygen\'s output)',
});
const rfc2136Record = z.strictObject({
  provider: z.literal('rfc2136'),
  /** The zone's primary: host name or IP literal, optionally HOST:PORT / [V6]:PORT. */
  server: z.string().regex(/^(\[[0-9a-f:.]+\]:\d{1,5}|[^\s[\]/]+)$/i, { message: 'not a server (e.g. ns1.example.org, 192.0.2.53 or [2001:db8::53]:5353)' }),
  /** Port when `server` names none (default 53). */
  port: port.default(53),
  zone: hostname,
  name: hostname,
  keyName: hostname,
  keyAlgorithm: tsigAlgorithm.default('hmac-sha256'),
  keySecret: base64Secret.optional(),
  keySecretFile: secretFile.optional(),
  ttl: z.number().int().min(1).max(86400).default(60),
  ...recordCommon,
});
const customRecord = z.strictObject({
  provider: z.literal('custom'),
  name: hostname,
  /** A secret: the update URL with placeholders {name} {ip} {ip4} {ip6} (values URL-encoded). */
  url: httpUrl.optional(),
  urlFile: secretFile.optional(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH']).default('GET'),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9a-z-]+$/i, { message: 'not an HTTP header name' }), z.string()).default({}),
  /** Request body template (same placeholders, values not encoded), for POST/PUT/PATCH. */
  body: z.string().max(10_000).optional(),
  /** Regular expression the answer's body must match (default: any body). */
  success: z.string().min(1).refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, { message: 'not a valid regular expression' }).optional(),
  /** HTTP statuses that count as success (default: any 2xx). */
  successStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  ...recordCommon,
});
export const recordSchema = z.discriminatedUnion('provider', [
  noipRecord.superRefine(checkRecord),
  dyndns2Record.superRefine(checkRecord),
  duckdnsRecord.superRefine(checkRecord),
  cloudflareRecord.superRefine(checkRecord),
  dynuRecord.superRefine(checkRecord),
  ovhRecord.superRefine(checkRecord),
  desecRecord.superRefine(checkRecord),
  rfc2136Record.superRefine(checkRecord),
  customRecord.superRefine(checkRecord),
  porkbunRecord.superRefine(checkRecord).superRefine(nameInZone),
  hetznerRecord.superRefine(checkRecord).superRefine(nameInZone),
  digitaloceanRecord.superRefine(checkRecord).superRefine(nameInZone),
  namecheapRecord.superRefine(checkRecord).superRefine(nameInZone),
  gandiRecord.superRefine(checkRecord).superRefine(nameInZone),
  freednsRecord.superRefine(checkRecord).superRefine((r, ctx) => {
    if (insecureUrl(r.server6, r.allowInsecure)) ctx.addIssue({ code: 'custom', path: ['server6'], input: r.server6, message: 'would send the update token over plain http — use https://, or set allowInsecure: true on this record' });
  }),
]);

// ---- forwards, lan, probe, daemon ----------------------------------------------------------------------
export const forwardSchema = z.strictObject({
  internalPort: port,
  /** Defaults to internalPort. */
  externalPort: port.optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  description: z.string().max(64).default('ddns'),
  /** Requested lease in seconds (0 = permanent where the router allows it). */
  lease: z.number().int().min(0).max(604800).default(7200),
  via: z.enum(['auto', 'upnp', 'natpmp', 'pcp']).default('auto'),
  /**
   * 4: a port mapping on the router (NAT); 6: an inbound IPv6 pinhole to this host's stable address
   * (no translation: the internal port is opened). Default [4].
   */
  families: families.default([4]),
});

function checkForwards(list: z.output<typeof forwardSchema>[], ctx: z.core.$RefinementCtx<z.output<typeof forwardSchema>[]>): void {
  const seen = new Map<string, number>();
  const seen6 = new Map<string, number>();
  list.forEach((f, i) => {
    if (f.families.includes(4)) {
      const key = `${f.protocol}/${f.externalPort ?? f.internalPort}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          input: f,
          message: `maps external ${key} again (already forwards[${first}]) — a router holds one mapping per external port and protocol`,
        });
      } else seen.set(key, i);
    }
    if (!f.families.includes(6)) return;
    if (f.externalPort !== undefined && f.externalPort !== f.internalPort) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'externalPort'],
        input: f.externalPort,
        message: `would need port translation (${f.externalPort} → ${f.internalPort}), but an IPv6 pinhole (families with 6) opens internalPort ${f.internalPort} itself — IPv6 has no port translation; drop externalPort, or write the IPv4 forward and { internalPort: ${f.internalPort}, families: [6] } as two forwards`,
      });
    }
    if (f.via === 'natpmp') {
      ctx.addIssue({ code: 'custom', path: [i, 'via'], input: f.via, message: 'would need NAT-PMP to open an IPv6 pinhole (families with 6), which it cannot: use auto, upnp or pcp' });
    }
    const key6 = `${f.protocol}/${f.internalPort}`;
    const first6 = seen6.get(key6);
    if (first6 !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i], input: f, message: `opens the IPv6 pinhole ${key6} again (already forwards[${first6}])` });
    } else seen6.set(key6, i);
  });
}

const lanSchema = z.strictObject({
  /** The static DHCP lease reserved on the router for this host. */
  expectAddress: ipv4.optional(),
  /** The interface to use; default: the one that routes to the default gateway. */
  interface: z.string().min(1).optional(),
});


const probeSchema = z
  .strictObject({
    url: httpUrl,
    token: secret.optional(),
    tokenFile: secretFile.optional(),
    allowInsecure: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.token !== undefined && insecureUrl(p.url, p.allowInsecure)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        input: p.url,
        message: 'would send the probe token over plain http — use https://, or set probe.allowInsecure: true',
      });
    }
    if (p.token !== undefined && Buffer.byteLength(p.token, 'utf8') < PROBE_TOKEN_MIN_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: probeTokenTooShort });
    }
  });

const notifySchema = z.strictObject({
  type: z.enum(NOTIFY_TYPES),
  /** A secret: whoever has the URL can post to it. (ntfy: the topic URL; gotify: the server.) */
  url: httpUrl.optional(),
  urlFile: secretFile.optional(),
  /** ntfy (optional access token), gotify (application token). */
  token: secret.optional(),
  tokenFile: secretFile.optional(),
  /** telegram: the bot's token (from @BotFather) and the chat to write to. */
  botToken: secret.optional(),
  botTokenFile: secretFile.optional(),
  chatId: z.union([z.string().min(1), z.number().int()]).transform(String).optional(),
  /** telegram: the Bot API server (default https://api.telegram.org; a self-hosted one, or tests). */
  apiUrl: httpUrl.optional(),
  /** Permit a secret over plain http to a non-loopback host (not recommended). */
  allowInsecure: z.boolean().optional(),
  /** Which events to send (default: all). */
  events: z.array(z.enum(['change', 'hold', 'recovery', 'failure', 'path'])).min(1).optional(),
}).superRefine((n, ctx) => {
  if (n.url !== undefined && insecureUrl(n.url, n.allowInsecure === true)) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'would send the notification URL (a secret) over plain http — use https://, or set allowInsecure: true on this notifier' });
  }
  const need = (key: string, why: string): void => {
    if (n[key as keyof typeof n] === undefined && (n as Record<string, unknown>)[`${key}File`] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], input: undefined, message: `is required for notify type ${n.type} — ${why}` });
    }
  };
  if (n.type === 'telegram') {
    need('botToken', 'the token @BotFather gave the bot');
    if (n.chatId === undefined) ctx.addIssue({ code: 'custom', path: ['chatId'], input: undefined, message: 'is required for notify type telegram — the chat id the bot writes to' });
  } else need('url', n.type === 'gotify' ? 'the Gotify server, e.g. https://gotify.example.net' : 'the URL to post to');
  if (n.type === 'gotify') need('token', 'an application token of the Gotify server');
  if (n.type === 'telegram' && n.apiUrl !== undefined && insecureUrl(n.apiUrl, n.allowInsecure === true)) {
    ctx.addIssue({ code: 'custom', path: ['apiUrl'], input: n.apiUrl, message: 'would send the bot token over plain http — use https://' });
  }
});

const daemonSchema = z.strictObject({
  /** Seconds between external confirmations (jittered). */
  interval: z.number().int().min(30).max(86400).default(300),
  /** Seconds between the daemon's own full path checks (`ddns check`); one also runs soon after each change. */
  checkInterval: z.number().int().min(60).max(604800).default(1800),
  listen: hostPort.default('127.0.0.1:9876'),
  /** Host names the listener answers besides IP literals and `localhost` (e.g. a container name a scraper uses). */
  allowHosts: z.array(hostname).default([]),
  removeOnStop: z.boolean().default(false),
  notify: z.array(notifySchema).default([]),
});

// ---- tunnels ----------------------------------------------------------------------------------------

const tunnelForwardSchema = z.strictObject({
  /** The port the relay listens on (reachable from the internet with `remoteBind: 0.0.0.0`). */
  remotePort: port,
  /** Where connections that arrive there go, from this host. */
  localPort: port,
  localAddress: z.string().min(1).default('127.0.0.1'),
  /** The relay-side listen address (needs `GatewayPorts clientspecified` on the relay for anything but loopback). */
  remoteBind: z.string().min(1).default('0.0.0.0'),
});
const tunnelSchema = z
  .strictObject({
    /** user@host[:port] of a stock OpenSSH server. */
    relay: z.string().refine((s) => relayParts(s) !== undefined, { message: 'not user@host[:port] (e.g. tunnel@vps.example.org:22)' }),
    /** The private key (OpenSSH or PEM format, unencrypted): a secret. */
    identity: secret.optional(),
    identityFile: secretFile.optional(),
    /** The relay's public host key, pinned ("ssh-ed25519 AAAA…", as in ssh-keyscan output or known_hosts). */
    hostKey: z.string().regex(/(^|\s)(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}(\s|$)/, {
      message: 'not an SSH public host key (e.g. "ssh-ed25519 AAAAC3Nza…", from ssh-keyscan -t ed25519 HOST on a trusted path)',
    }),
    /** Seconds between keepalives; the path is declared dead after keepaliveCountMax unanswered ones. */
    keepaliveInterval: z.number().int().min(1).max(600).default(5),
    keepaliveCountMax: z.number().int().min(1).max(100).default(3),
    forwards: z.array(tunnelForwardSchema).min(1),
    /** Keep a second, warm session to the relay (logged in, no forward) that takes the forwards over at once when the relay ends the first; false: one session. */
    standby: z.boolean().default(true),
  })
  .superRefine((t, ctx) => {
    if (t.identity === undefined && t.identityFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['identity'], input: t, message: 'is required — set identity, identityFile, or DDNS_TUNNELS_<index>_IDENTITY(_FILE)' });
    }
    const seen = new Set<string>();
    t.forwards.forEach((f, i) => {
      const key = `${f.remoteBind}:${f.remotePort}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['forwards', i], input: f, message: `asks the relay for ${key} twice` });
      seen.add(key);
    });
  });

// ---- the whole ---------------------------------------------------------------------------------------
export const configObject = z.strictObject({
  $schema: z.string().optional(),
  ip: ipSchema.prefault({}),
  records: z.array(recordSchema).default([]),
  forwards: z.array(forwardSchema).superRefine(checkForwards).default([]),
  lan: lanSchema.prefault({}),
  probe: probeSchema.optional(),
  daemon: daemonSchema.prefault({}),
  tunnels: z.array(tunnelSchema).default([]),
  state: z.string().min(1).optional()
    .describe('The state file (last published addresses; the port-mapping ledger portmap.json sits beside it). Default: $XDG_STATE_HOME/ddns/state.json, i.e. ~/.local/state/ddns/state.json; /data/state.json in the image.'),
});



/**
 * Rules across fields, applied after the shapes are right; the state file's default comes from the
 * environment (loadConfig passes its own, so this fallback only serves callers that parse directly).
 */
export const configSchema = configObject.superRefine((c, ctx) => {
  c.records.forEach((r, i) => {
    const n = relayTarget(r);
    if (n !== undefined && n >= c.tunnels.length) {
      ctx.addIssue({
        code: 'custom', path: ['records', i, 'target'], input: r.target,
        message: c.tunnels.length === 0 ? 'publishes a relay address, but no tunnels are configured' : `names tunnel ${n}, but only tunnels 0–${c.tunnels.length - 1} exist`,
      });
    }
  });
}).transform((c) => ({ ...c, state: c.state ?? defaultStatePath(process.env) }));

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type IpConfig = Config['ip'];
export type IpSourceConfig = z.output<typeof ipSourceSchema>;
export type RecordConfig = z.output<typeof recordSchema>;
export type NoipRecordConfig = Extract<RecordConfig, { provider: 'noip' }>;
export type Dyndns2RecordConfig = Extract<RecordConfig, { provider: 'dyndns2' }>;
export type DuckdnsRecordConfig = Extract<RecordConfig, { provider: 'duckdns' }>;
export type CloudflareRecordConfig = Extract<RecordConfig, { provider: 'cloudflare' }>;
export type Dyndns2PresetRecordConfig = Extract<RecordConfig, { provider: 'dynu' | 'ovh' | 'desec' }>;
export type Rfc2136RecordConfig = Extract<RecordConfig, { provider: 'rfc2136' }>;
export type CustomRecordConfig = Extract<RecordConfig, { provider: 'custom' }>;
export type PorkbunRecordConfig = Extract<RecordConfig, { provider: 'porkbun' }>;
export type HetznerRecordConfig = Extract<RecordConfig, { provider: 'hetzner' }>;
export type DigitaloceanRecordConfig = Extract<RecordConfig, { provider: 'digitalocean' }>;
export type NamecheapRecordConfig = Extract<RecordConfig, { provider: 'namecheap' }>;
export type GandiRecordConfig = Extract<RecordConfig, { provider: 'gandi' }>;
export type FreednsRecordConfig = Extract<RecordConfig, { provider: 'freedns' }>;
export type ForwardConfig = z.output<typeof forwardSchema>;
export type LanConfig = Config['lan'];
export type ProbeConfig = NonNullable<Config['probe']>;
export type DaemonConfig = Config['daemon'];
export type NotifyConfig = DaemonConfig['notify'][number];
export type TunnelConfig = Config['tunnels'][number];
export type TunnelForwardConfig = TunnelConfig['forwards'][number];
