/**
 * The parts of the configuration contract that running code needs besides the validated values: provider
 * and notifier names, relay addresses, env-variable names, the probe token's minimum. Plain TypeScript,
 * no validator: the daemon's process imports this and never the schema (schema.ts, zod), which runs only
 * where the config is loaded — in `ddns run` a short-lived child process (src/cli/config-child.ts).
 */

export const PROVIDERS = ['noip', 'dyndns2', 'duckdns', 'cloudflare', 'dynu', 'ovh', 'desec', 'rfc2136', 'custom', 'porkbun', 'hetzner', 'digitalocean', 'namecheap', 'gandi', 'freedns'] as const;

export const NOTIFY_TYPES = ['webhook', 'healthchecks', 'uptimekuma', 'ntfy', 'discord', 'slack', 'telegram', 'gotify'] as const;

/** Secret fields by record/section kind: the value key and its file form. */
export const SECRET_KEYS = ['password', 'token', 'apiToken', 'keySecret', 'url', 'identity'] as const;

/** A probe token shorter than this is guessable over the internet; `probe serve` refuses it too. */
export const PROBE_TOKEN_MIN_BYTES = 16;
export const probeTokenTooShort = `is shorter than ${PROBE_TOKEN_MIN_BYTES} bytes — a short token can be guessed; make one with \`openssl rand -hex 16\``;

/** `user@host[:port]` (host may be [IPv6]; port 22 by default), or undefined when it is not one. */
export function relayParts(text: string): { user: string; host: string; port: number } | undefined {
  const m = /^([a-z_][a-z0-9_.-]{0,31})@(?:\[([0-9a-f:.]+)\]|([^\s@:[\]]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!m?.[1]) return undefined;
  const host = m[2] ?? m[3];
  const port = m[4] === undefined ? 22 : Number(m[4]);
  if (!host || port < 1 || port > 65535) return undefined;
  return { user: m[1], host, port };
}

/** The tunnel index a record publishes the relay address of (`relay` = 0, `relay:N`), or undefined for `public`. */
export function relayTarget(r: { target?: string | undefined }): number | undefined {
  const m = /^relay(?::(\d+))?$/.exec(r.target ?? 'public');
  return m ? Number(m[1] ?? 0) : undefined;
}

/** camelCase key → SCREAMING_SNAKE as used in environment variable names. */
export function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
