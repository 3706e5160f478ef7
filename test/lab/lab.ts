/**
 * The lab controller: a home network from real parts (docs/lab.md) in network namespaces, one scenario per run.
 *
 * Contract:
 * - `startLab(scenario)` resolves only when the network is usable: the LAN host holds its DHCP lease,
 *   the router's miniupnpd (if the scenario has one) listens, the fixtures (if wanted) answer. It either
 *   resolves with a Lab or rejects after tearing down everything it built.
 * - Namespaces are linked only to each other, never to the root namespace or a real interface.
 * - `down()` is idempotent and leaves nothing: no namespace, no process, no /etc/netns entry, no run
 *   directory (unless DDNS_LAB_KEEP=1 or `keep`). Process handlers (registry.ts) run it on signals and
 *   exit; `sweepStale()` removes what killed runs left.
 * - Every command the lab runs is bounded in time.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { defaultHostnames, defaultSources } from '../../src/publicip/defaults.js';
import type { InternetClient } from '../fixtures/client.js';
import { dhclientScript, dnsmasqConf, miniupnpdConf, routerRuleset, upstreamRuleset, type MiniupnpdOptions } from './configs.js';
import { ensureLabPackages } from './deps.js';
import { destroyNamespace, destroyNamespaceSync, newRunId, NETNS_ETC, sweepStale } from './netns.js';
import { register, unregister } from './registry.js';
import { killGroup, must, run, waitFor, type RunResult } from './sh.js';
import { planFor, type HostKey, type Plan, type ScenarioName } from './topology.js';

export type { ScenarioName, HostKey } from './topology.js';
export { scenarioNames } from './topology.js';
export type { MiniupnpdOptions } from './configs.js';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const RUNS_DIR = join(REPO_ROOT, '.lab-runs');

/** Hostnames of the providers' default servers and the echo service behind the default probe. */
export const PROVIDER_HOSTNAMES = ['dynupdate.no-ip.com', 'www.duckdns.org', 'api.cloudflare.com', 'ifconfig.co'];

export interface StartOptions {
  /** Start the fixture servers in the internet namespace (default true). */
  fixtures?: boolean;
  /** miniupnpd.conf overrides (key → value; `rules` replaces the allow/deny lines). */
  miniupnpd?: MiniupnpdOptions;
  /** Shorthand for `miniupnpd: { forceIgdV1: true }`: the router describes itself as IGD:1. */
  forceIgdV1?: boolean;
  /**
   * miniupnpd learns its public address by STUN (ext_perform_stun, against the fixtures' STUN server at
   * stun.l.google.com:19302). Behind cgnat/double-nat, miniupnpd 2.3.1 then judges the upstream NAT
   * "unrestricted full-cone", re-enables port forwarding and reports the upstream's public address —
   * while mappings it makes are still unreachable from outside: the router that lies. Needs fixtures.
   */
  routerStun?: boolean;
  /** IPv6 on the LAN (default: healthy and cgnat-v6). */
  ipv6?: boolean;
  /** A temporary privacy address on the LAN host (default: cgnat-v6 only); see `lab.temp6()`. */
  privacy6?: boolean;
  /** Keep the run directory after down() (default: env DDNS_LAB_KEEP=1). */
  keep?: boolean;
  /** Extra hostnames the LAN host resolves to the internet host. */
  extraHostnames?: string[];
  /** Progress lines (default: silent unless DDNS_LAB_VERBOSE=1). */
  log?: (line: string) => void;
}

/** Default cwd: the repository root (so `node --import tsx` resolves). */
export interface ExecOptions { input?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string }

export interface SpawnOptions { env?: Record<string, string>; stdio?: StdioOptions }

export interface ConnectOptions {
  proto?: 'tcp' | 'udp';
  send?: string;
  timeoutMs?: number;
  /**
   * After sending, how long to wait for the server to answer and close (default 1 s: enough for a service
   * that answers at once). A server that forks a shell per connection needs longer on a busy machine;
   * the connection still ends as soon as the server closes.
   */
  replyMs?: number;
}

export interface ListenOptions { proto?: 'tcp' | 'udp'; reply?: 'echo' | 'peer' }

export interface ConnectResult { ok: boolean; data: string; error?: string }

export interface Lab {
  id: string;
  scenario: ScenarioName;
  /** Run directory: configs, logs (`<name>.log`), the lab CA (ca.pem, once fixtures run). */
  dir: string;
  hosts: { lan: string; rtr: string; wan: string; isp?: string };
  /**
   * Addresses, kept current by the methods below: lan4 (the DHCP lease held now; setStaticLease),
   * routerWan4 and public4 (setRouterWan). expectedLease4 is the reservation the scenario starts with
   * (192.168.77.50, also in no-static-lease, where the router does not honour it); setStaticLease
   * changes the router, not this value. public4 is what the internet sees (the upstream NAT's address
   * in cgnat/double-nat); public6 = lan6 (routed, no NAT66); internet4/6 are where the fixtures listen
   * (the internet is dual-stack in every scenario; lan6 exists only where the LAN has IPv6).
   */
  addr: {
    lan4: string; lan6?: string; expectedLease4: string; router4: string; routerWan4: string;
    public4: string; public6?: string; internet4: string; internet6: string;
  };
  /** The LAN host's interface and MAC. */
  lanIf: string;
  lanMac: string;
  exec(host: HostKey, argv: string[], o?: ExecOptions): Promise<RunResult>;
  /** A process in a host, killed on teardown. Default stdio: pipes. */
  spawn(host: HostKey, argv: string[], o?: SpawnOptions): ChildProcess;
  /**
   * `node --import tsx src/cli/main.ts [-c <config file>] ...args` in the LAN host, cwd the run dir,
   * env ddnsEnv (+ o.env; DDNS_* and proxy variables of the parent are not passed on).
   */
  ddns(args: string[], o?: { config?: object; env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /**
   * The argv of that command (for lab.spawn, e.g. `ddns run`); with `config`, writes it to a file in
   * the run dir (mode 600) and adds `-c`. A config without `state` gets `<dir>/ddns-state.json`.
   */
  ddnsArgv(args: string[], o?: { config?: object }): string[];
  /** Environment for programs in the LAN host that talk to the fixtures (NODE_EXTRA_CA_CERTS, …). */
  ddnsEnv: Record<string, string>;
  /** The fixtures' control client (request logs, configure, records), when fixtures run. */
  internet?: InternetClient;
  /** Text of a log in the run directory: 'miniupnpd', 'dnsmasq', 'dhclient', 'fixtures', … ('' if none). */
  log(name: string): string;
  /** Kill + restart miniupnpd with its chains flushed: mappings gone, NAT-PMP epoch restarts. */
  rebootRouter(): Promise<void>;
  /** Moves the router's WAN address within its WAN subnet and makes miniupnpd announce it (SIGUSR1). */
  setRouterWan(addr4: string): Promise<void>;
  /**
   * Changes the address the internet sees (public4), within 44.0.0.0/24: in healthy-like scenarios the
   * router's WAN (= setRouterWan); behind cgnat/double-nat the upstream NAT's outside address, which
   * the router cannot see.
   */
  setPublic4(addr4: string): Promise<void>;
  /** Changes (or with null removes) the static lease, restarts dnsmasq, renews in the LAN host. */
  setStaticLease(addr4: string | null): Promise<void>;
  /** Connects from the internet host; TCP: ok when connected (data = what came back); UDP: ok when a reply came. */
  connectFromInternet(addr: string, port: number, o?: ConnectOptions): Promise<ConnectResult>;
  /** The same from any host. */
  connect(from: HostKey, addr: string, port: number, o?: ConnectOptions): Promise<ConnectResult>;
  /**
   * A server (socat) on `port` (IPv4 and IPv6) in a host, ready when this resolves; stopped on teardown.
   * It echoes what it receives, or with `reply: 'peer'` answers the caller's address (as seen there).
   */
  listen(host: HostKey, port: number, o?: ListenOptions): Promise<{ close(): Promise<void> }>;
  /** The LAN host's temporary IPv6 privacy addresses (with `privacy6`), from the kernel's table, newest last. */
  temp6(): Promise<string[]>;
  /**
   * The ISP delegates another /64 (`prefix`, e.g. "2a0d:dd00:78::"): the internet routes it to the
   * router, the router's LAN side and the LAN host (::50, a privacy address too with `privacy6`) move to
   * it, the LAN host's default route follows, and the old prefix is withdrawn everywhere.
   */
  renumber6(prefix: string): Promise<void>;
  /** Lets inbound IPv6 to the LAN host's `port` through the router's firewall; returns the undo. */
  openInbound6(port: number, proto?: 'tcp' | 'udp'): Promise<() => Promise<void>>;
  down(): Promise<void>;
}

const FIXED_ENV_DROP = /^(?:https?_proxy|no_proxy|all_proxy|DDNS_.*|NODE_OPTIONS|NODE_EXTRA_CA_CERTS)$/i;

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !FIXED_ENV_DROP.test(k)) env[k] = v;
  return env;
}

/** Hostname → the address families its built-in source serves (from src/publicip/defaults.ts). */
function sourceFamilies(): Map<string, Set<number>> {
  const m = new Map<string, Set<number>>();
  for (const src of defaultSources) {
    const host = src.type === 'http' ? new URL(src.url).hostname : src.server.replace(/:\d+$/, '');
    const set = m.get(host) ?? new Set<number>();
    for (const f of src.families) set.add(f);
    m.set(host, set);
  }
  return m;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export async function withLab<T>(scenario: ScenarioName, fn: (lab: Lab) => Promise<T>, opts?: StartOptions): Promise<T> {
  const lab = await startLab(scenario, opts);
  try {
    return await fn(lab);
  } finally {
    await lab.down();
  }
}

export async function startLab(scenario: ScenarioName, opts: StartOptions = {}): Promise<Lab> {
  ensureLabPackages();
  if (!isRoot()) throw new Error('lab: network namespaces need root: run it as root');
  const plan = planFor(scenario, { ...(opts.ipv6 === undefined ? {} : { ipv6: opts.ipv6 }), ...(opts.privacy6 === undefined ? {} : { privacy6: opts.privacy6 }) });
  await sweepStale(RUNS_DIR);
  const lab = new LabImpl(plan, opts);
  try {
    await lab.up();
    return lab;
  } catch (err) {
    await lab.down();
    throw err;
  }
}

interface Tracked { child: ChildProcess; name: string }

class LabImpl implements Lab {
  readonly id: string;
  readonly scenario: ScenarioName;
  readonly dir: string;
  readonly hosts: Lab['hosts'];
  readonly addr: Lab['addr'];
  readonly lanIf = 'l0';
  readonly lanMac: string;
  readonly ddnsEnv: Record<string, string>;
  internet?: InternetClient;

  private readonly plan: Plan;
  private readonly opts: StartOptions;
  private readonly keep: boolean;
  private readonly say: (line: string) => void;
  private readonly tracked = new Set<Tracked>();
  private readonly named = new Map<string, Tracked>();
  private created: string[] = [];
  private staticLease: string | null;
  private downing?: Promise<void>;
  private finished = false;
  private configCount = 0;

  constructor(plan: Plan, opts: StartOptions) {
    this.plan = plan;
    this.opts = opts;
    this.id = newRunId();
    this.scenario = plan.scenario;
    this.dir = join(RUNS_DIR, this.id);
    this.keep = opts.keep ?? process.env.DDNS_LAB_KEEP === '1';
    this.say = opts.log ?? (process.env.DDNS_LAB_VERBOSE === '1' ? (l) => process.stderr.write(`[lab ${this.id}] ${l}\n`) : () => {});
    this.hosts = { lan: `${this.id}-lan`, rtr: `${this.id}-rtr`, wan: `${this.id}-wan` };
    if (plan.hosts.includes('isp')) this.hosts.isp = `${this.id}-isp`;
    const a = plan.addr;
    this.addr = {
      lan4: '', expectedLease4: a.expectedLease4, router4: a.router4, routerWan4: a.routerWan4,
      public4: a.public4, internet4: a.internet4,
      ...(a.lan6 ? { lan6: a.lan6 } : {}), ...(a.public6 ? { public6: a.public6 } : {}),
      internet6: a.internet6,
    };
    this.lanMac = plan.lanMac;
    this.staticLease = plan.router.staticLease ? a.expectedLease4 : null;
    this.ddnsEnv = { NODE_EXTRA_CA_CERTS: join(this.dir, 'ca.pem') };
    register({ id: this.id, down: () => this.down(), downSync: () => this.downSync() });
  }

  // ---- bring-up -------------------------------------------------------------------------------------

  async up(): Promise<void> {
    const t0 = Date.now();
    mkdirSync(this.dir, { recursive: true });
    const plan = this.plan;
    const nsOf = (h: HostKey) => this.ns(h);

    // Namespaces, each with its own /etc/hosts and resolv.conf before anything runs in it.
    this.writeEtc();
    await Promise.all(plan.hosts.map(async (h) => {
      this.created.push(nsOf(h));
      await must(['ip', 'netns', 'add', nsOf(h)]);
    }));
    // Sysctls before links come up (accept_ra off in the LAN host).
    await Promise.all(plan.sysctls.map((s) => this.must(s.host, ['sysctl', '-qw', ...s.settings])));
    // veth pairs created directly inside their namespaces: nothing ever appears in the root namespace.
    for (const l of plan.links) {
      await must(['ip', 'link', 'add', l.a.ifname, 'netns', nsOf(l.a.host), 'type', 'veth', 'peer', 'name', l.b.ifname, 'netns', nsOf(l.b.host)]);
    }
    const batches = new Map<HostKey, string[]>();
    const add = (h: HostKey, line: string) => { const b = batches.get(h) ?? []; b.push(line); batches.set(h, b); };
    for (const h of plan.hosts) add(h, 'link set lo up');
    for (const l of plan.links) {
      for (const end of [l.a, l.b]) {
        if (end.mac) add(end.host, `link set ${end.ifname} address ${end.mac}`);
        for (const cidr of end.addrs) add(end.host, `addr add ${cidr} dev ${end.ifname}${cidr.includes(':') ? ` nodad${end.mngtmpaddr ? ' mngtmpaddr' : ''}` : ''}`);
        add(end.host, `link set ${end.ifname} up`);
      }
    }
    // One host after the other: two ends of a veth brought up at the same moment can both miss the
    // other's carrier (seen: r-lan stuck in NO-CARRIER, no IPv6 link-local, SSDP over IPv6 failing).
    for (const [h, lines] of batches) await must(['ip', '-n', nsOf(h), '-batch', '-'], { input: `${lines.join('\n')}\n` });
    const routeBatches = new Map<HostKey, string[]>();
    for (const r of plan.routes) {
      const b = routeBatches.get(r.host) ?? [];
      // No per-line -6 in batch mode: ip infers the family from the prefix or gateway.
      b.push(`route add ${r.args.filter((x) => x !== '-6').join(' ')}`);
      routeBatches.set(r.host, b);
    }
    await Promise.all([...routeBatches].map(([h, lines]) => must(['ip', '-n', nsOf(h), '-batch', '-'], { input: `${lines.join('\n')}\n` })));

    // Firewalls.
    writeFileSync(join(this.dir, 'router.nft'), routerRuleset(plan));
    await this.must('rtr', ['nft', '-f', join(this.dir, 'router.nft')]);
    if (plan.upstream) {
      writeFileSync(join(this.dir, 'upstream.nft'), upstreamRuleset(plan));
      await this.must('isp', ['nft', '-f', join(this.dir, 'upstream.nft')]);
    }
    this.say(`network built in ${Date.now() - t0} ms`);

    // Services, in parallel: fixtures in the internet; DHCP then the LAN lease; miniupnpd.
    if (this.opts.routerStun && this.opts.fixtures === false) throw new Error('lab: routerStun needs the fixtures (their STUN server)');
    const fixtures = this.opts.fixtures === false ? Promise.resolve() : this.startFixtures();
    // With routerStun, miniupnpd asks the fixtures' STUN server at start-up: start it after them.
    const routerAfter = this.opts.routerStun ? fixtures : Promise.resolve();
    await Promise.all([
      fixtures,
      this.startDnsmasq().then(() => this.startDhclient()),
      Promise.all([this.waitLinksUp(), routerAfter]).then(() => (plan.router.miniupnpd ? this.startMiniupnpd() : undefined)),
    ]);
    this.say(`${this.scenario} up in ${Date.now() - t0} ms: lan ${this.addr.lan4}${this.addr.lan6 ? ` ${this.addr.lan6}` : ''}`);
  }

  /**
   * Waits until every lab interface is operationally up. The kernel's link watcher batches carrier
   * changes (up to a second), and until then the router's LAN side has no IPv6 link-local address, so
   * miniupnpd would start on a half-up interface.
   */
  private async waitLinksUp(): Promise<void> {
    const want = new Map<HostKey, string[]>();
    for (const l of this.plan.links) for (const e of [l.a, l.b]) want.set(e.host, [...(want.get(e.host) ?? []), e.ifname]);
    await waitFor('the lab links to come up', 3_000, async () => {
      for (const [h, ifs] of want) {
        const r = await run(['ip', '-n', this.ns(h), '-j', 'link', 'show']);
        let links: unknown;
        try { links = JSON.parse(r.stdout); } catch { return undefined; }
        if (!Array.isArray(links)) return undefined;
        for (const name of ifs) {
          const l = links.find((x: { ifname?: unknown }) => x.ifname === name) as { operstate?: unknown } | undefined;
          if (l?.operstate !== 'UP') return undefined;
        }
      }
      return true;
    });
  }

  private ns(h: HostKey): string {
    const n = h === 'isp' ? this.hosts.isp : this.hosts[h];
    if (!n) throw new Error(`lab: the ${this.scenario} scenario has no ${h} host`);
    return n;
  }

  private writeEtc(fixtureNames: string[] = []): void {
    const names = [...new Set([...defaultHostnames(), ...PROVIDER_HOSTNAMES, ...fixtureNames, ...(this.opts.extraHostnames ?? [])])].sort();
    const a = this.addr;
    // A source that exists for one family only (api.ipify.org: A only; api6.ipify.org: AAAA only) gets
    // only that family's address, like its real DNS; every other name gets both.
    const fams = sourceFamilies();
    const v4 = names.filter((n) => fams.get(n)?.has(4) ?? true);
    const v6 = names.filter((n) => fams.get(n)?.has(6) ?? true);
    const hosts = [
      '127.0.0.1 localhost',
      '::1 localhost ip6-localhost ip6-loopback',
      `${a.internet4} ${v4.join(' ')}`,
      // Written even when the LAN has no IPv6: names keep their AAAA, connections to them fail as at a
      // home without IPv6 (network unreachable) instead of falling through to DNS.
      ...(a.internet6 && v6.length > 0 ? [`${a.internet6} ${v6.join(' ')}`] : []),
      '',
    ].join('\n');
    const resolv = [`nameserver ${a.internet4}`, ...(a.internet6 && a.lan6 ? [`nameserver ${a.internet6}`] : []), 'options timeout:1 attempts:1', ''].join('\n');
    for (const h of this.plan.hosts) {
      const d = join(NETNS_ETC, this.ns(h));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'hosts'), hosts);
      writeFileSync(join(d, 'resolv.conf'), resolv);
    }
  }

  private async startFixtures(): Promise<void> {
    const { startInternet } = await import('./fixtures.js');
    this.internet = await startInternet(this);
    // Every name the fixtures serve (echo variants, DNS and STUN servers) resolves to the internet host.
    this.writeEtc(this.internet.hostnames);
  }

  private async startDnsmasq(): Promise<void> {
    const conf = join(this.dir, 'dnsmasq.conf');
    writeFileSync(conf, dnsmasqConf(this.plan, { leaseFile: join(this.dir, 'dnsmasq.leases'), staticLease: this.staticLease }));
    const logFile = join(this.dir, 'dnsmasq.log');
    const before = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    this.startDaemon('dnsmasq', 'rtr', ['dnsmasq', '-k', '-C', conf, '--user=root', '--group=root', `--pid-file=${join(this.dir, 'dnsmasq.pid')}`, `--log-facility=${logFile}`, '--log-dhcp']);
    await waitFor('dnsmasq to listen', 5_000, () => {
      const t = this.exited('dnsmasq');
      if (t) throw new Error(`lab: dnsmasq exited: ${t}`);
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(before) : '';
      return /DHCP, IP range/.test(text) ? true : undefined;
    });
  }

  private async startDhclient(): Promise<string> {
    const status = join(this.dir, 'dhclient.status');
    const script = join(this.dir, 'dhclient-script');
    const conf = join(this.dir, 'dhclient.conf');
    writeFileSync(script, dhclientScript(status));
    chmodSync(script, 0o755);
    writeFileSync(conf, 'request subnet-mask, broadcast-address, routers;\n');
    writeFileSync(status, '');
    this.startDaemon('dhclient', 'lan', ['dhclient', '-d', '-v', '-4', '-cf', conf, '-sf', script, '-pf', join(this.dir, 'dhclient.pid'), '-lf', join(this.dir, 'dhclient.leases'), this.lanIf]);
    const lan4 = await waitFor('the LAN host to get a DHCP lease', 8_000, () => {
      const t = this.exited('dhclient');
      if (t) throw new Error(`lab: dhclient exited: ${t}`);
      const m = /^(?:BOUND|REBOOT|RENEW|REBIND) (\S+)$/m.exec(readFileSync(status, 'utf8'));
      return m?.[1];
    });
    this.addr.lan4 = lan4;
    return lan4;
  }

  private async startMiniupnpd(): Promise<void> {
    const conf = join(this.dir, 'miniupnpd.conf');
    const stun = this.opts.routerStun ? { ext_perform_stun: true, ext_stun_host: 'stun.l.google.com', ext_stun_port: 19302 } : {};
    const mo: MiniupnpdOptions = { ...(this.opts.forceIgdV1 ? { forceIgdV1: true } : {}), ...stun, ...this.opts.miniupnpd };
    writeFileSync(conf, miniupnpdConf(this.plan, mo));
    const logFile = join(this.dir, 'miniupnpd.log');
    const before = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    this.startDaemon('miniupnpd', 'rtr', ['miniupnpd', '-d', '-f', conf, '-P', join(this.dir, 'miniupnpd.pid')]);
    // What this miniupnpd.conf switched on (an override may switch off what the scenario has).
    const on = (v: MiniupnpdOptions[string], scenario: boolean) => (v === undefined ? scenario : v !== false && v !== 'no');
    const upnp = on(mo.enable_upnp, this.plan.router.upnp);
    const natpmp = on(mo.enable_natpmp, this.plan.router.natpmp);
    await waitFor('miniupnpd to listen', this.opts.routerStun ? 15_000 : 5_000, () => {
      const t = this.exited('miniupnpd');
      if (t) throw new Error(`lab: miniupnpd exited: ${t}\n${readFileSync(logFile, 'utf8').slice(before, before + 2000)}`);
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(before) : '';
      const httpOk = !upnp || /HTTP listening on port/.test(text);
      const pmpOk = !natpmp || /Listening for NAT-PMP/.test(text);
      return httpOk && pmpOk ? true : undefined;
    });
  }

  /** A long-running service with its output in `<dir>/<name>.log`; replaces an earlier one of that name. */
  private startDaemon(name: string, host: HostKey, argv: string[]): ChildProcess {
    const fd = openSync(join(this.dir, `${name}.log`), 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['ignore', fd, fd], env: baseEnv() });
      const t: Tracked = { child, name };
      child.on('error', () => { /* reported through exited() */ });
      child.unref();
      this.tracked.add(t);
      this.named.set(name, t);
      child.on('exit', () => this.tracked.delete(t));
      return child;
    } finally {
      closeSync(fd);
    }
  }

  /** Why a named daemon is no longer running, or undefined while it runs. */
  private exited(name: string): string | undefined {
    const c = this.named.get(name)?.child;
    if (!c) return 'never started';
    if (c.exitCode !== null) return `exit code ${c.exitCode}`;
    if (c.signalCode !== null) return `signal ${c.signalCode}`;
    return undefined;
  }

  private async stopDaemon(name: string): Promise<void> {
    const t = this.named.get(name);
    if (!t) return;
    this.named.delete(name);
    await stopChild(t.child);
  }

  private async must(host: HostKey, argv: string[], o: ExecOptions = {}): Promise<string> {
    const r = await this.exec(host, argv, o);
    if (r.code !== 0) throw new Error(`lab: [${host}] \`${argv.join(' ')}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
    return r.stdout;
  }

  // ---- the handles tests use ------------------------------------------------------------------------

  exec(host: HostKey, argv: string[], o: ExecOptions = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.ns(host), ...argv], {
      ...(o.input !== undefined ? { input: o.input } : {}),
      timeoutMs: o.timeoutMs ?? 15_000,
      env: { ...baseEnv(), ...o.env },
      cwd: o.cwd ?? REPO_ROOT,
    });
  }

  spawn(host: HostKey, argv: string[], o: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: o.stdio ?? 'pipe', env: { ...baseEnv(), ...o.env }, cwd: REPO_ROOT });
    const t: Tracked = { child, name: argv[0] ?? '?' };
    child.on('error', () => { /* the caller sees exit */ });
    this.tracked.add(t);
    child.on('exit', () => this.tracked.delete(t));
    return child;
  }

  ddnsArgv(args: string[], o: { config?: object } = {}): string[] {
    const argv = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')];
    if (o.config) {
      const file = join(this.dir, `ddns-config-${++this.configCount}.json`);
      const config = { state: join(this.dir, 'ddns-state.json'), ...o.config };
      writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
      argv.push('-c', file);
    }
    return [...argv, ...args];
  }

  async ddns(args: string[], o: { config?: object; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    const argv = this.ddnsArgv(args, o.config ? { config: o.config } : {});
    // cwd = the run dir: a default state file or config search never touches the repository's.
    return this.exec('lan', argv, { env: { ...this.ddnsEnv, ...o.env }, timeoutMs: o.timeoutMs ?? 60_000, cwd: this.dir });
  }

  log(name: string): string {
    const f = join(this.dir, `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  async rebootRouter(): Promise<void> {
    if (!this.plan.router.miniupnpd) throw new Error(`lab: the ${this.scenario} router has no miniupnpd to reboot`);
    const t = this.named.get('miniupnpd');
    this.named.delete('miniupnpd');
    if (t) await stopChild(t.child, 'SIGKILL');
    // A reboot forgets every mapping: empty the chains miniupnpd fills, and the connection tracking.
    for (const chain of ['miniupnpd', 'prerouting_miniupnpd', 'postrouting_miniupnpd']) {
      await this.must('rtr', ['nft', 'flush', 'chain', 'inet', 'filter', chain]);
    }
    await this.startMiniupnpd();
  }

  async setRouterWan(addr4: string): Promise<void> {
    if (!isIPv4(addr4)) throw new Error(`lab: setRouterWan wants an IPv4 address, got ${JSON.stringify(addr4)}`);
    const a = this.plan.addr;
    const prefix = a.routerWanPrefix;
    const net = (x: string) => x.split('.').slice(0, 3).join('.');
    if (prefix !== 24 || net(addr4) !== net(a.routerWanGw4) || addr4 === a.routerWanGw4) {
      throw new Error(`lab: the router's WAN address must stay in ${net(a.routerWanGw4)}.0/24 (and not be ${a.routerWanGw4}), got ${addr4}`);
    }
    const wanIf = this.plan.router.wanIf;
    const old = this.addr.routerWan4;
    await this.must('rtr', ['ip', '-batch', '-'], {
      input: `addr del ${old}/${prefix} dev ${wanIf}\naddr add ${addr4}/${prefix} dev ${wanIf}\nroute replace default via ${a.routerWanGw4}\n`,
    });
    this.addr.routerWan4 = addr4;
    if (!this.plan.upstream) this.addr.public4 = addr4;
    const pid = this.named.get('miniupnpd')?.child.pid;
    if (pid !== undefined) { try { process.kill(pid, 'SIGUSR1'); } catch { /* not running */ } }
  }

  async setPublic4(addr4: string): Promise<void> {
    if (!this.plan.upstream) return this.setRouterWan(addr4);
    const gw = this.plan.addr.internet4;
    const net = (x: string) => x.split('.').slice(0, 3).join('.');
    if (!isIPv4(addr4) || net(addr4) !== net(gw) || addr4 === gw) {
      throw new Error(`lab: the public address must stay in ${net(gw)}.0/24 (and not be ${gw}), got ${JSON.stringify(addr4)}`);
    }
    const out = this.plan.upstream.outsideIf;
    await this.must('isp', ['ip', '-batch', '-'], {
      input: `addr del ${this.addr.public4}/24 dev ${out}\naddr add ${addr4}/24 dev ${out}\nroute replace default via ${gw}\n`,
    });
    this.addr.public4 = addr4;
  }

  async setStaticLease(addr4: string | null): Promise<void> {
    if (addr4 !== null && !isIPv4(addr4)) throw new Error(`lab: setStaticLease wants an IPv4 address or null, got ${JSON.stringify(addr4)}`);
    this.staticLease = addr4;
    await this.stopDaemon('dnsmasq');
    await this.startDnsmasq();
    await this.stopDaemon('dhclient');
    await this.startDhclient();
  }

  connectFromInternet(addr: string, port: number, o: ConnectOptions = {}): Promise<ConnectResult> {
    return this.connect('wan', addr, port, o);
  }

  async connect(from: HostKey, addr: string, port: number, o: ConnectOptions = {}): Promise<ConnectResult> {
    const proto = o.proto ?? 'tcp';
    const timeoutMs = o.timeoutMs ?? 3_000;
    const secs = (timeoutMs / 1000).toFixed(2);
    const fam = isIPv6(addr) ? '6' : '4';
    const host = fam === '6' ? `[${addr}]` : addr;
    const target = proto === 'tcp' ? `TCP${fam}:${host}:${port},connect-timeout=${secs}` : `UDP${fam}:${host}:${port}`;
    const r = await this.exec(from, ['socat', '-T', secs, '-t', ((o.replyMs ?? 1000) / 1000).toFixed(2), 'STDIO', target], { input: o.send ?? '', timeoutMs: Math.max(timeoutMs, o.replyMs ?? 0) + 2_000 });
    const error = r.stderr.trim().split('\n').filter((l) => /E |error/i.test(l)).map((l) => l.replace(/^.*? E /, '')).join('; ');
    if (proto === 'udp') return r.stdout.length > 0 ? { ok: true, data: r.stdout } : { ok: false, data: '', error: error || 'no reply' };
    return r.code === 0 ? { ok: true, data: r.stdout } : { ok: false, data: r.stdout, error: error || `socat exited ${r.code}` };
  }

  async listen(host: HostKey, port: number, o: ListenOptions = {}): Promise<{ close(): Promise<void> }> {
    const proto = o.proto ?? 'tcp';
    // One socket per family, so the peer address reads as the family's own form (no ::ffff: mapping).
    const addrs = proto === 'tcp'
      ? [`TCP4-LISTEN:${port},reuseaddr,fork`, `TCP6-LISTEN:${port},ipv6only=1,reuseaddr,fork`]
      : [`UDP4-RECVFROM:${port},reuseaddr,fork`, `UDP6-RECVFROM:${port},ipv6only=1,reuseaddr,fork`];
    // The peer answer reads its input to the end: a shell that echoed and exited before the caller's bytes
    // arrived made socat's write fail (EPIPE) and the caller got an empty answer (1 in 5 on a busy machine).
    const action = o.reply === 'peer' ? 'SYSTEM:echo "$SOCAT_PEERADDR"; cat >/dev/null' : 'EXEC:cat';
    // -T bounds an idle child; 5 s leaves room for a shell forked on a loaded machine.
    const children = addrs.map((addr) => this.spawn(host, ['socat', '-T', '5', addr, action], { stdio: 'ignore' }));
    await waitFor(`a server on ${host} ${proto}/${port}`, 3_000, async () => {
      if (children.some((c) => c.exitCode !== null)) throw new Error(`lab: socat listener on ${host} ${proto}/${port} exited (port in use?)`);
      const r = await this.exec(host, ['ss', '-Hln', proto === 'tcp' ? '-t' : '-u', `sport = :${port}`]);
      return r.stdout.trim().split('\n').length >= 2 ? true : undefined;
    });
    return { close: async () => { await Promise.all(children.map((c) => stopChild(c))); } };
  }

  async temp6(): Promise<string[]> {
    const out = await this.must('lan', ['ip', '-6', '-j', 'addr', 'show', 'dev', this.lanIf, 'temporary']);
    const parsed = JSON.parse(out || '[]') as Array<{ addr_info?: Array<{ local?: string }> }>;
    return parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter((a) => a !== '').reverse();
  }

  async renumber6(prefix: string): Promise<void> {
    const old = this.addr.lan6;
    if (!old) throw new Error(`lab: no IPv6 in this ${this.scenario} lab`);
    if (!/^[0-9a-f:]+::$/.test(prefix) || !isIPv6(`${prefix}1`)) throw new Error(`lab: renumber6 wants a /64 prefix like "2a0d:dd00:78::", got ${JSON.stringify(prefix)}`);
    const oldPrefix = old.replace(/50$/, '');
    // Routes towards the home first (the ISP routes the new /64 to the router), then the home itself.
    for (const r of this.plan.routes) {
      if (!r.args.includes(`${oldPrefix}/64`)) continue;
      const via = r.args[r.args.indexOf('via') + 1] ?? '';
      await this.must(r.host, ['ip', '-6', 'route', 'add', `${prefix}/64`, 'via', via]);
    }
    const lanIf = this.plan.router.lanIf;
    await this.must('rtr', ['ip', '-6', 'addr', 'add', `${prefix}1/64`, 'dev', lanIf, 'nodad']);
    await this.must('lan', ['ip', '-6', 'addr', 'add', `${prefix}50/64`, 'dev', this.lanIf, 'nodad', ...(this.plan.privacy6 ? ['mngtmpaddr'] : [])]);
    await this.must('lan', ['ip', '-6', 'route', 'replace', 'default', 'via', `${prefix}1`]);
    const oldTemps = (await this.temp6()).filter((t) => t.startsWith(oldPrefix.replace(/::$/, ':')));
    await this.must('lan', ['ip', '-6', 'addr', 'del', `${old}/64`, 'dev', this.lanIf]);
    for (const t of oldTemps) await this.exec('lan', ['ip', '-6', 'addr', 'del', `${t}/64`, 'dev', this.lanIf]);
    await this.must('rtr', ['ip', '-6', 'addr', 'del', `${oldPrefix}1/64`, 'dev', lanIf]);
    for (const r of this.plan.routes) {
      if (r.args.includes(`${oldPrefix}/64`)) await this.must(r.host, ['ip', '-6', 'route', 'del', `${oldPrefix}/64`]);
    }
    this.addr.lan6 = `${prefix}50`;
    this.addr.public6 = this.addr.lan6;
  }

  async openInbound6(port: number, proto: 'tcp' | 'udp' = 'tcp'): Promise<() => Promise<void>> {
    const lan6 = this.addr.lan6;
    if (!lan6) throw new Error(`lab: no IPv6 in this ${this.scenario} lab`);
    const out = await this.must('rtr', ['nft', '-e', '-a', 'add', 'rule', 'inet', 'filter', 'inbound6', 'ip6', 'daddr', lan6, proto, 'dport', String(port), 'accept']);
    const handle = /# handle (\d+)/.exec(out)?.[1];
    if (!handle) throw new Error(`lab: nft did not report the rule's handle: ${out}`);
    return async () => { await this.must('rtr', ['nft', 'delete', 'rule', 'inet', 'filter', 'inbound6', 'handle', handle]); };
  }

  // ---- teardown -------------------------------------------------------------------------------------

  down(): Promise<void> {
    this.downing ??= this.teardown();
    return this.downing;
  }

  private async teardown(): Promise<void> {
    const t0 = Date.now();
    const internet = this.internet;
    if (internet) {
      // A ref'd timer: teardown is awaited, and with only unref'd handles left the loop would exit mid-way.
      await Promise.race([internet.close().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))]);
    }
    await Promise.all([...this.tracked].map((t) => stopChild(t.child)));
    await Promise.all(this.created.map((ns) => destroyNamespace(ns)));
    for (const h of this.plan.hosts) rmSync(join(NETNS_ETC, this.ns(h)), { recursive: true, force: true });
    this.finishDir();
    unregister(this.id);
    this.finished = true;
    this.say(`down in ${Date.now() - t0} ms`);
  }

  /** For the 'exit' handler: also finishes a teardown that an exit interrupted (every step is idempotent). */
  private downSync(): void {
    if (this.finished) return;
    for (const t of this.tracked) killGroup(t.child.pid, 'SIGKILL');
    for (const ns of this.created) destroyNamespaceSync(ns);
    for (const h of this.plan.hosts) rmSync(join(NETNS_ETC, this.ns(h)), { recursive: true, force: true });
    this.finishDir();
    unregister(this.id);
    this.finished = true;
  }

  private finishDir(): void {
    if (this.keep) {
      if (existsSync(this.dir)) writeFileSync(join(this.dir, 'KEEP'), 'kept because DDNS_LAB_KEEP=1\n');
      process.stderr.write(`[lab] kept run directory ${this.dir}\n`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** SIGTERM, then SIGKILL after 500 ms; resolves once the process has exited (bounded). */
async function stopChild(child: ChildProcess, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try { child.kill(first); } catch { /* gone */ }
  const t1 = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 500);
  // The daemons are unref'd children: without a ref'd timer here, a process that outlives SIGTERM would
  // let the event loop end before its 'exit' arrives (a top-level `await lab.down()` then never returns).
  let t2: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => { t2 = setTimeout(r, 2_000); })]);
  clearTimeout(t1);
  clearTimeout(t2);
}
