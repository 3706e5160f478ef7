/**
 * Advice texts: what to do next, with the user's own ports and addresses filled in. Pure functions of
 * plain values, so every text is table-tested and one place words them.
 */
import type { ForwardConfig } from '../config/schema.js';

/** A forward with its external port resolved (config default: the internal port). */
export interface PortPair { protocol: 'tcp' | 'udp'; internalPort: number; externalPort: number }

export function portPairs(forwards: readonly ForwardConfig[]): PortPair[] {
  return forwards.map((f) => ({ protocol: f.protocol, internalPort: f.internalPort, externalPort: f.externalPort ?? f.internalPort }));
}

const EXAMPLE: PortPair = { protocol: 'tcp', internalPort: 22, externalPort: 2222 };

function pairs(ports: readonly PortPair[]): PortPair[] {
  return ports.length > 0 ? [...ports] : [EXAMPLE];
}

/** "TCP 2222, UDP 51820" — or an example marked "e.g." when no forwards are configured. */
function portList(ports: readonly PortPair[]): string {
  const text = pairs(ports).map((p) => `${p.protocol.toUpperCase()} ${p.externalPort}`).join(', ');
  return ports.length > 0 ? text : `the ports you need (e.g. ${text})`;
}

/** Behind CGNAT: no inbound IPv4 is possible through the ISP's NAT. */
export function cgnatAdvice(o: { ports: readonly PortPair[]; address6?: string }): string {
  const tcp = pairs(o.ports).filter((p) => p.protocol === 'tcp');
  const udp = pairs(o.ports).filter((p) => p.protocol === 'udp');
  const lines = [
    'Your ISP shares one public IPv4 address among many customers (carrier-grade NAT): port forwarding on your router cannot work for IPv4. Options:',
    o.address6
      ? `  1. IPv6: this host has the global address ${o.address6}. Publish an AAAA record (ip.families: [4, 6]) and allow ${portList(o.ports)} inbound to it in the router's IPv6 firewall.`
      : '  1. IPv6: ask your ISP whether they offer IPv6; a global IPv6 address needs no port forwarding (only a firewall rule), and CGNAT does not touch it.',
    '  2. Ask your ISP for a public IPv4 address (often free on request or a small fee; ask to be taken off CGNAT).',
    '  3. A reverse tunnel through a machine of yours with a public address (a small VPS): ddns keeps it up (`ddns run`, or `ddns tunnel`)',
    '     and publishes the VPS\'s address for records with target: relay. Add to the configuration:',
  ];
  if (tcp.length > 0) {
    if (o.ports.length === 0) lines.push('       # example ports; yours come from forwards in the configuration');
    lines.push(
      '       tunnels:',
      '         - relay: "tunnel@your-vps:22"',
      '           identityFile: /run/secrets/relay_key          # ssh-keygen -t ed25519 -N "" -f relay_key',
      '           hostKey: "ssh-ed25519 AAAA…"                  # the VPS\'s /etc/ssh/ssh_host_ed25519_key.pub',
      '           forwards:',
      ...tcp.map((p) => `             - { remotePort: ${p.externalPort}, localPort: ${p.internalPort} }`),
      `     On the VPS: a user "tunnel" with the key in authorized_keys, restricted to these ports — README "Behind CGNAT: a relay" (${tcp.map((p) => `permitlisten="0.0.0.0:${p.externalPort}"`).join(',')}), and GatewayPorts clientspecified.`,
    );
  }
  if (udp.length > 0) {
    lines.push(`       UDP (${udp.map((p) => p.externalPort).join(', ')}) cannot ride an ssh tunnel: use WireGuard to the VPS and forward those ports there.`);
  }
  return lines.join('\n');
}

/** Double NAT: this router's WAN side is behind another NAT of the home's own (or the ISP's modem). */
export function doubleNatAdvice(o: { ports: readonly PortPair[]; routerWan?: string; lanAddress?: string }): string {
  const wan = o.routerWan ?? "this router's WAN address";
  const lines = [
    'Two NATs sit between this host and the internet: forwarding on your router alone cannot be reached from outside. Either:',
    '  1. put the upstream modem/router in bridge mode (then your router gets the public address), or',
    `  2. on the upstream device, forward ${portList(o.ports)} to ${wan} (or put ${wan} in its DMZ), and keep the forward on your router to ${o.lanAddress ?? 'this host'}.`,
  ];
  return lines.join('\n');
}

/** The router speaks none of UPnP IGD, NAT-PMP, PCP. */
export function noPortmapAdvice(o: { ports: readonly PortPair[]; gateway: string; lanAddress?: string }): string {
  const to = o.lanAddress ?? 'this host';
  const list = pairs(o.ports).map((p) => `${p.protocol.toUpperCase()} ${p.externalPort} → ${to}:${p.internalPort}`).join(', ');
  const rules = o.ports.length > 0 ? list : `e.g. ${list}`;
  return `Enable UPnP IGD or NAT-PMP/PCP on the router (http://${o.gateway}/), or add the port forwards by hand there: ${rules}.`;
}

/** A forward on the router aims at an address this host no longer has. */
export function staleForwardAdvice(o: { stale: { protocol: string; externalPort: number; internalAddress: string; internalPort: number }[]; current: string; expect?: string; mac?: string }): string {
  const target = o.expect ?? o.stale[0]?.internalAddress ?? o.current;
  const lines = [
    `The static DHCP lease is not working: reserve ${target} for this host${o.mac ? ` (MAC ${o.mac})` : ''} on the router's DHCP page, then renew the lease (e.g. \`dhclient -r && dhclient\`, or reconnect).`,
  ];
  for (const s of o.stale) {
    lines.push(`Or re-point the forward: ${s.protocol.toUpperCase()} ${s.externalPort} → ${o.current}:${s.internalPort} (\`ddns map add ${s.internalPort} --external ${s.externalPort} --protocol ${s.protocol}\`).`);
  }
  return lines.join('\n');
}

export function expectMismatchAdvice(o: { current: string; expect: string; mac?: string }): string {
  return `Reserve ${o.expect} for this host${o.mac ? ` (MAC ${o.mac})` : ''} on the router's DHCP page (static lease) and renew the lease — or, if ${o.current} is the address you want, set lan.expectAddress: ${o.current}.`;
}

export function leaseChangedAdvice(o: { previous: string; current: string; mac?: string }): string {
  return `This host had ${o.previous} on an earlier run and has ${o.current} now: the DHCP lease is not static. Reserve ${o.current} for this host${o.mac ? ` (MAC ${o.mac})` : ''} on the router's DHCP page and set lan.expectAddress: ${o.current}, so forwards keep pointing here.`;
}

/** The router does not loop connections to its own public address back into the LAN. */
export function hairpinAdvice(o: { lanAddress?: string; hostnames: readonly string[] }): string {
  const name = o.hostnames[0];
  return [
    `Your router does not loop back (no NAT hairpinning): from inside the LAN, connect to the local address${o.lanAddress ? ` ${o.lanAddress}` : ''} instead of the public one`,
    name ? `, or give ${name} the local address in the LAN's own DNS (split DNS: a host override in the router's or Pi-hole's DNS).` : ', or use split DNS (the LAN\'s own DNS answers the hostname with the local address).',
  ].join('');
}

export function staleRecordAdvice(): string {
  return 'Run `ddns update` (or start `ddns run`) to publish the current address.';
}

/** The probe found the port closed from outside. */
export function unreachableAdvice(o: { pair: PortPair; lanAddress?: string; nat: string; family?: 4 | 6; address6?: string }): string {
  const p = o.pair;
  if (o.family === 6) {
    return `Allow inbound IPv6 ${p.protocol.toUpperCase()} ${p.internalPort} to ${o.address6 ?? "this host's IPv6 address"} in the router's IPv6 firewall (a pinhole; IPv6 needs no port forwarding), and check this host's own firewall.`;
  }
  if (o.nat === 'cgnat') return `Behind CGNAT nothing from outside reaches ${p.protocol.toUpperCase()} ${p.externalPort} over IPv4 — see the nat step.`;
  if (o.nat === 'double') return `Two NATs: forward ${p.protocol.toUpperCase()} ${p.externalPort} on the upstream device too — see the nat step.`;
  return `Forward ${p.protocol.toUpperCase()} ${p.externalPort} → ${o.lanAddress ?? 'this host'}:${p.internalPort} on the router (\`ddns map add ${p.internalPort} --external ${p.externalPort} --protocol ${p.protocol}\`, or the router's page), and check that a service listens on port ${p.internalPort} and that this host's firewall lets it in.`;
}

/** What an echoip-style answer can and cannot prove. */
export const ECHOIP_CAVEAT = 'echoip (ifconfig.co) proves only that the port answers from outside, not that the connection reached this host — run `ddns probe serve` on a machine outside and set probe.url for the nonce test.';
