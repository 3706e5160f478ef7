/**
 * The lab's scenarios as plain data: which hosts exist, how they are wired, which addresses they carry
 * and what the router runs. Pure — lab.ts turns a Plan into namespaces and processes.
 *
 * Addresses: the "internet" (the `wan` host, and the ISP side of any upstream NAT) uses 44.0.0.0/24 and
 * 2a0d:dd00:44::/64, the LAN 192.168.77.0/24 and 2a0d:dd00:77::/64. They are neither reserved nor
 * documentation ranges (miniupnpd refuses reserved WAN addresses, and the product rightly refuses to
 * publish documentation addresses) and they exist only inside the lab's namespaces, which are linked to
 * each other and never to the root namespace, so no packet to them can leave the machine.
 */

export type ScenarioName = 'healthy' | 'upnp-only' | 'natpmp-only' | 'no-portmap' | 'cgnat' | 'cgnat-v6' | 'double-nat' | 'no-static-lease';

/**
 * `cgnat-v6`: IPv4 behind the ISP's CGNAT as in `cgnat`, and native IPv6 routed by the same ISP box to
 * the home (2a0d:dd00:64::/64 between ISP and router, the LAN's /64 routed to the router) — the common
 * home where IPv4 cannot be forwarded and IPv6 needs only a pinhole.
 */
export const scenarioNames: readonly ScenarioName[] = [
  'healthy', 'upnp-only', 'natpmp-only', 'no-portmap', 'cgnat', 'cgnat-v6', 'double-nat', 'no-static-lease',
];

/** The hosts a lab can have. `isp` exists only where an upstream NAT sits between router and internet. */
export type HostKey = 'lan' | 'rtr' | 'wan' | 'isp';

export interface LinkEnd {
  host: HostKey;
  ifname: string; // inside its namespace, so short fixed names never collide between runs
  mac?: string;
  addrs: string[]; // CIDR; IPv6 ones are added `nodad`
  /** IPv6 addresses also `mngtmpaddr`: with use_tempaddr=2 the kernel adds a temporary privacy address. */
  mngtmpaddr?: boolean;
}

export interface Link { a: LinkEnd; b: LinkEnd }

export interface RouterPlan {
  /** miniupnpd runs at all. */
  miniupnpd: boolean;
  upnp: boolean;
  natpmp: boolean;
  /** dnsmasq reserves `expectedLease4` for the LAN host's MAC. */
  staticLease: boolean;
  lanIf: string;
  wanIf: string;
  lanSubnet4: string;
  poolStart: string;
  poolEnd: string;
}

/** An upstream NAT box (the ISP's CGNAT or a second home router). */
export interface UpstreamPlan { insideIf: string; outsideIf: string }

export interface AddressPlan {
  lan4?: string; // unknown until DHCP has answered
  lan6?: string;
  expectedLease4: string;
  router4: string;
  router6?: string;
  routerWan4: string;
  routerWanGw4: string;
  routerWanPrefix: number;
  public4: string;
  public6?: string;
  internet4: string;
  internet6: string;
}

export interface Plan {
  scenario: ScenarioName;
  hosts: HostKey[];
  links: Link[];
  /** `ip route` argument lists per host, applied after the addresses. */
  routes: { host: HostKey; args: string[] }[];
  /** sysctls per host (`key=value`). */
  sysctls: { host: HostKey; settings: string[] }[];
  router: RouterPlan;
  upstream?: UpstreamPlan;
  addr: AddressPlan;
  ipv6: boolean;
  privacy6: boolean;
  lanMac: string;
}

export interface PlanOptions {
  /** IPv6 on the LAN, routed without NAT. Default: only in `healthy` and `cgnat-v6`. Not available behind an upstream NAT. */
  ipv6?: boolean;
  /**
   * A temporary privacy address on the LAN host next to its stable `::50` (use_tempaddr=2, mngtmpaddr):
   * outgoing IPv6 leaves from it, as on any desktop. Default: only in `cgnat-v6`.
   */
  privacy6?: boolean;
}

const LAN_MAC = '02:00:00:00:00:50';
const INTERNET4 = '44.0.0.10';
const INTERNET6 = '2a0d:dd00:44::10';
const ROUTER_WAN6 = '2a0d:dd00:44::2';
const LAN_PREFIX6 = '2a0d:dd00:77::';
const ISP_LINK6 = '2a0d:dd00:64::';
const ISP_WAN6 = '2a0d:dd00:44::3';

export function isScenario(s: string): s is ScenarioName {
  return (scenarioNames as readonly string[]).includes(s);
}

export function planFor(scenario: ScenarioName, o: PlanOptions = {}): Plan {
  const upstreamKind = scenario === 'cgnat' || scenario === 'cgnat-v6' ? 'cgnat' : scenario === 'double-nat' ? 'home' : undefined;
  const ipv6 = o.ipv6 ?? (scenario === 'healthy' || scenario === 'cgnat-v6');
  const privacy6 = ipv6 && (o.privacy6 ?? scenario === 'cgnat-v6');
  if (ipv6 && upstreamKind && scenario !== 'cgnat-v6') throw new Error(`lab: IPv6 is not available in the ${scenario} scenario`);

  const router: RouterPlan = {
    miniupnpd: scenario !== 'no-portmap',
    upnp: scenario !== 'natpmp-only',
    natpmp: scenario !== 'upnp-only',
    staticLease: scenario !== 'no-static-lease',
    lanIf: 'r-lan',
    wanIf: 'r-wan',
    lanSubnet4: '192.168.77.0/24',
    poolStart: '192.168.77.100',
    poolEnd: '192.168.77.200',
  };

  const lanLink: Link = {
    a: { host: 'lan', ifname: 'l0', mac: LAN_MAC, addrs: ipv6 ? [`${LAN_PREFIX6}50/64`] : [], ...(privacy6 ? { mngtmpaddr: true } : {}) },
    b: { host: 'rtr', ifname: 'r-lan', addrs: ['192.168.77.1/24', ...(ipv6 ? [`${LAN_PREFIX6}1/64`] : [])] },
  };
  // The internet is dual-stack in every scenario; only the home may lack IPv6 (as many do).
  const wanEnd: LinkEnd = { host: 'wan', ifname: 'w0', addrs: [`${INTERNET4}/24`, `${INTERNET6}/64`] };

  const addr: AddressPlan = {
    expectedLease4: '192.168.77.50',
    router4: '192.168.77.1',
    routerWan4: '44.0.0.2',
    routerWanGw4: INTERNET4,
    routerWanPrefix: 24,
    public4: '44.0.0.2',
    internet4: INTERNET4,
    internet6: INTERNET6,
  };
  if (ipv6) {
    addr.lan6 = `${LAN_PREFIX6}50`;
    addr.router6 = `${LAN_PREFIX6}1`;
    addr.public6 = addr.lan6; // routed, no NAT66
  }

  const links: Link[] = [lanLink];
  const routes: Plan['routes'] = [];
  // No DAD anywhere: link-local addresses are usable at once (SSDP over IPv6 from the first moment).
  const noDad = ['net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.default.dad_transmits=0'];
  const sysctls: Plan['sysctls'] = [
    { host: 'rtr', settings: ['net.ipv4.ip_forward=1', ...(ipv6 ? ['net.ipv6.conf.all.forwarding=1'] : []), ...noDad] },
    // The LAN host configures IPv6 statically: no router advertisements, no SLAAC surprises.
    {
      host: 'lan',
      settings: ['net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0', ...noDad, ...(privacy6 ? ['net.ipv6.conf.default.use_tempaddr=2'] : [])],
    },
    { host: 'wan', settings: noDad },
  ];
  let upstream: UpstreamPlan | undefined;

  if (!upstreamKind) {
    links.push({ a: wanEnd, b: { host: 'rtr', ifname: 'r-wan', addrs: ['44.0.0.2/24', ...(ipv6 ? [`${ROUTER_WAN6}/64`] : [])] } });
    routes.push({ host: 'rtr', args: ['default', 'via', INTERNET4] });
    if (ipv6) {
      routes.push({ host: 'rtr', args: ['-6', 'default', 'via', INTERNET6] });
      routes.push({ host: 'lan', args: ['-6', 'default', 'via', `${LAN_PREFIX6}1`] });
      routes.push({ host: 'wan', args: ['-6', `${LAN_PREFIX6}/64`, 'via', ROUTER_WAN6] });
    }
  } else {
    // cgnat: the ISP hands the router 100.64.7.2 and NATs to 44.0.0.3.
    // double-nat: another home router hands it 192.168.1.2 and NATs to 44.0.0.4.
    const inside = upstreamKind === 'cgnat' ? { gw: '100.64.7.1', rtr: '100.64.7.2' } : { gw: '192.168.1.1', rtr: '192.168.1.2' };
    const outside = upstreamKind === 'cgnat' ? '44.0.0.3' : '44.0.0.4';
    upstream = { insideIf: 'i-in', outsideIf: 'i-out' };
    // cgnat-v6: the ISP routes IPv6 natively — 2a0d:dd00:64::/64 to the router, the LAN's /64 behind it.
    const v6 = ipv6 ? { isp: `${ISP_LINK6}1`, rtr: `${ISP_LINK6}2`, out: ISP_WAN6 } : undefined;
    links.push({ a: { host: 'isp', ifname: 'i-in', addrs: [`${inside.gw}/24`, ...(v6 ? [`${v6.isp}/64`] : [])] }, b: { host: 'rtr', ifname: 'r-wan', addrs: [`${inside.rtr}/24`, ...(v6 ? [`${v6.rtr}/64`] : [])] } });
    links.push({ a: wanEnd, b: { host: 'isp', ifname: 'i-out', addrs: [`${outside}/24`, ...(v6 ? [`${v6.out}/64`] : [])] } });
    routes.push({ host: 'rtr', args: ['default', 'via', inside.gw] });
    routes.push({ host: 'isp', args: ['default', 'via', INTERNET4] });
    if (v6) {
      routes.push({ host: 'rtr', args: ['-6', 'default', 'via', v6.isp] });
      routes.push({ host: 'lan', args: ['-6', 'default', 'via', `${LAN_PREFIX6}1`] });
      routes.push({ host: 'isp', args: ['-6', 'default', 'via', INTERNET6] });
      routes.push({ host: 'isp', args: ['-6', `${LAN_PREFIX6}/64`, 'via', v6.rtr] });
      routes.push({ host: 'wan', args: ['-6', `${LAN_PREFIX6}/64`, 'via', v6.out] });
      routes.push({ host: 'wan', args: ['-6', `${ISP_LINK6}/64`, 'via', v6.out] });
    }
    sysctls.push({ host: 'isp', settings: ['net.ipv4.ip_forward=1', ...(v6 ? ['net.ipv6.conf.all.forwarding=1'] : []), ...noDad] });
    addr.routerWan4 = inside.rtr;
    addr.routerWanGw4 = inside.gw;
    addr.public4 = outside;
  }

  const hosts: HostKey[] = upstreamKind ? ['lan', 'rtr', 'isp', 'wan'] : ['lan', 'rtr', 'wan'];
  return { scenario, hosts, links, routes, sysctls, router, ...(upstream ? { upstream } : {}), addr, ipv6, privacy6, lanMac: LAN_MAC };
}
