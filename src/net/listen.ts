/**
 * A listen address ("HOST:PORT", "[v6]:PORT") parsed in one place: `daemon.listen` for the server that
 * binds it and for `ddns health` that connects to it (a wildcard bind is reached through loopback), and
 * `ddns probe serve --listen`.
 */
export interface ListenAddress { host: string; port: number }

export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/i.exec(text.trim());
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  // Port 0 (an ephemeral port) is accepted: tests and the bench let the kernel choose.
  if (!m || !host || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host, port };
}

/** Where a client on this host connects to reach a server bound to `a`. */
export function connectAddress(a: ListenAddress): ListenAddress {
  if (a.host === '0.0.0.0') return { host: '127.0.0.1', port: a.port };
  if (a.host === '::' || a.host === '::0') return { host: '::1', port: a.port };
  return a;
}

/** http://HOST:PORT with brackets for IPv6. */
export function baseUrl(a: ListenAddress): string {
  return `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
