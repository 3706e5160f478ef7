/**
 * The text of every configuration file the lab writes: router firewall (nftables), upstream NAT,
 * dnsmasq, miniupnpd and the LAN host's dhclient script. Pure functions of the plan, so the exact
 * router the tests talk to is readable in one place (and in the run directory of a kept run).
 */
import type { Plan } from './topology.js';

/** Values for miniupnpd.conf; `true`/`false` become yes/no. `rules` replaces the allow/deny lines. */
export interface MiniupnpdOptions {
  forceIgdV1?: boolean;
  rules?: string[];
  [key: string]: string | number | boolean | string[] | undefined;
}

/**
 * The router's firewall: the chains miniupnpd-nftables 2.3.1 fills, in table `inet filter` (docs/lab.md).
 * Forwarding policy drop; LAN → WAN allowed; WAN → LAN only what miniupnpd opens (DNAT'd IPv4 ports,
 * IPv6 pinholes) or what the `inbound6` chain accepts (lab.openInbound6). IPv6 is routed, never NAT'd.
 */
export function routerRuleset(plan: Plan): string {
  const { lanIf, wanIf } = plan.router;
  return `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lanIf}" oifname "${wanIf}" accept
    icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
    jump inbound6
    jump miniupnpd
  }
  chain inbound6 {
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    meta nfproto ipv4 oifname "${wanIf}" masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;
}

/** The upstream box (ISP CGNAT or a second home router): plain masquerade, nothing forwarded inbound. */
export function upstreamRuleset(plan: Plan): string {
  if (!plan.upstream) throw new Error('lab: no upstream in this plan');
  const { insideIf, outsideIf } = plan.upstream;
  return `table ip nat {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${insideIf}" oifname "${outsideIf}" accept
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "${outsideIf}" masquerade
  }
}
`;
}

/** dnsmasq: DHCP only (port=0), authoritative so a changed reservation NAKs the old address at once. */
export function dnsmasqConf(plan: Plan, o: { leaseFile: string; staticLease: string | null }): string {
  const r = plan.router;
  return [
    `interface=${r.lanIf}`,
    'bind-interfaces',
    'port=0',
    `dhcp-range=${r.poolStart},${r.poolEnd},255.255.255.0,1h`,
    ...(o.staticLease ? [`dhcp-host=${plan.lanMac},${o.staticLease}`] : []),
    `dhcp-option=option:router,${plan.addr.router4}`,
    'dhcp-authoritative',
    'no-ping',
    'no-resolv',
    'no-hosts',
    `dhcp-leasefile=${o.leaseFile}`,
    '',
  ].join('\n');
}

/** miniupnpd.conf per docs/lab.md, switched per scenario, with caller overrides last. */
export function miniupnpdConf(plan: Plan, o: MiniupnpdOptions = {}): string {
  const r = plan.router;
  const values = new Map<string, string>([
    ['ext_ifname', r.wanIf],
    ['listening_ip', r.lanIf],
    ['port', '5000'],
    ['enable_natpmp', r.natpmp ? 'yes' : 'no'],
    ['enable_upnp', r.upnp ? 'yes' : 'no'],
    ['secure_mode', 'yes'],
    ['system_uptime', 'yes'],
    ['uuid', '3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b'],
    ['ipv6_disable', plan.ipv6 ? 'no' : 'yes'],
  ]);
  if (o.forceIgdV1) values.set('force_igd_desc_v1', 'yes');
  for (const [k, v] of Object.entries(o)) {
    if (k === 'forceIgdV1' || k === 'rules' || v === undefined || Array.isArray(v)) continue;
    values.set(k, v === true ? 'yes' : v === false ? 'no' : String(v));
  }
  const rules = o.rules ?? [`allow 1024-65535 ${r.lanSubnet4} 1024-65535`, 'deny 0-65535 0.0.0.0/0 0-65535'];
  return [...[...values].map(([k, v]) => `${k}=${v}`), ...rules, ''].join('\n');
}

/**
 * The LAN host's dhclient-script: applies the lease to the interface and the default route, and appends
 * `<reason> <address>` to `statusFile` so the lab can wait for a binding without sleeping. It never
 * touches resolv.conf or anything outside the namespace (Debian's script runs hooks that might).
 */
export function dhclientScript(statusFile: string): string {
  return `#!/bin/sh
# Written by the ddns lab (test/lab/configs.ts).
case "$reason" in
  PREINIT)
    ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
      ip -4 addr flush dev "$interface"
    fi
    ip -4 addr replace "$new_ip_address/\${new_subnet_mask:-255.255.255.0}" dev "$interface"
    for r in $new_routers; do ip -4 route replace default via "$r" dev "$interface"; break; done
    echo "$reason $new_ip_address" >> "${statusFile}" ;;
  EXPIRE|FAIL|RELEASE|STOP)
    [ -n "$old_ip_address" ] && ip -4 addr del "$old_ip_address/\${old_subnet_mask:-255.255.255.0}" dev "$interface" 2>/dev/null
    echo "$reason \${old_ip_address:-none}" >> "${statusFile}" ;;
esac
exit 0
`;
}
