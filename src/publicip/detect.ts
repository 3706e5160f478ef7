/**
 * `detectPublicAddresses`: what the rest of ddns calls (update, check, daemon, `ddns ip`).
 *
 * Builds the configured sources (or the defaults), runs consensus per family in parallel and returns the
 * report of the `ip --json` contract: `{ "4": { address, agreeing, sources: [{ id, address, error, ms }] },
 * "6": … }` — one key per asked family, with extra fields (verdict, message, operators, candidates, each
 * source's status/kind/evidence). Optionally (`router: true`) the router's own view of its WAN address is
 * added for IPv4 as `router` — shown, never counted (unless the configuration lists a router source,
 * which then votes like any other). Never throws; bounded by the sources' timeouts and `signal`.
 */
import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { classifyAddress, type AddressClass } from '../net/address.js';
import { withTimeout } from '../net/abort.js';
import { runConsensus, type Answer, type FamilyReport } from './consensus.js';
import type { Source } from './source.js';
import { buildSources, type BuildDeps } from './sources/index.js';
import type { RouterAddressAnswer, RouterAddressQuery, RouterProtocol } from './sources/router.js';
import { validateAddress } from './validate.js';
import { readIfInet6, type Inet6Address } from '../net/if-inet6.js';
import { chooseStable, stableMessage } from './stable6.js';

/**
 * Replaces an agreed IPv6 address that is one of this host's temporary/deprecated/tentative addresses by
 * the stable address of its prefix (stable6.ts); leaves every other report as it is.
 */
export function applyStable6(report: FamilyResult, table: readonly Inet6Address[]): FamilyResult {
  if (report.family !== 6 || report.address === null) return report;
  const c = chooseStable(report.address, table);
  const why = stableMessage(c);
  if (c.kind === 'not-local' || why === undefined) return report;
  const stable: StableView = { observed: report.address, address: c.kind === 'none' ? null : c.address, kind: c.kind, ifname: c.ifname, why };
  if (c.kind === 'stable') return { ...report, stable };
  return { ...report, address: stable.address, message: c.kind === 'none' ? why : `${report.message}; published: ${c.address} (stable)`, stable };
}

/** The router's own report of its WAN address (IPv4), next to the outside view. */
export interface RouterView {
  /** A global unicast address the router reported, or null. */
  address: string | null;
  /** What it reported when that was not publishable (e.g. `100.64.7.2`), with its class. */
  reported?: string;
  class?: AddressClass;
  /** The protocol the router answered over (null: it answered none). */
  via: RouterProtocol | null;
  /** Why there is no address: "the router has no public address", "no router answers NAT-PMP or UPnP" … */
  error: string | null;
  ms: number;
}

/**
 * IPv6: the agreed address was one of this host's own. `observed` is what the outside sees (a temporary
 * privacy address, usually); `address` what is published instead (null: none), and why.
 */
export interface StableView {
  observed: string;
  address: string | null;
  kind: 'stable' | 'replaced' | 'none';
  ifname: string;
  why: string;
}

export interface FamilyResult extends FamilyReport {
  router?: RouterView;
  stable?: StableView;
}

/** One key per asked family. */
export type PublicIpReport = { [F in '4' | '6']?: FamilyResult };

export interface DetectOptions {
  /** Default: `config.ip.families`. */
  families?: readonly Family[];
  signal?: AbortSignal;
  /** Monotonic ms clock for latencies (default performance.now). */
  now?: () => number;
  /** Also ask the router for its WAN address (IPv4) and report it as `router` (default false). */
  router?: boolean;
  /** Instead of the configured/default sources (tests, bench). */
  sources?: readonly Source[];
  /** Hedge delay of the consensus runner. */
  hedgeMs?: number;
  /** How router sources and the router view ask the router (default: the port-mapping client). */
  routerQuery?: RouterAddressQuery;
  interfaces?: BuildDeps['interfaces'];
  /** This host's IPv6 addresses with their flags (default: read /proc/net/if_inet6). */
  inet6?: () => Promise<Inet6Address[]>;
  onAnswer?: (family: Family, a: Answer) => void;
}

async function defaultRouterQuery(): Promise<RouterAddressQuery> {
  const { portmapRouterQuery } = await import('./sources/router-portmap.js');
  return portmapRouterQuery();
}

/** Asks the router over NAT-PMP and UPnP at once; the first real address wins, else the most telling failure. */
export async function routerView(query: RouterAddressQuery, timeoutMs: number, signal?: AbortSignal): Promise<RouterView> {
  const t0 = performance.now();
  const s = withTimeout(timeoutMs, signal);
  const ask = (p: RouterProtocol): Promise<RouterAddressAnswer> =>
    query(p, { signal: s, timeoutMs }).catch((err: unknown): RouterAddressAnswer => ({ ok: false, kind: 'protocol', message: String(err) }));
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  const answers: Array<{ p: RouterProtocol; a: RouterAddressAnswer }> = [];
  const first = await new Promise<RouterAddressAnswer | undefined>((resolve) => {
    const protos: RouterProtocol[] = ['natpmp', 'upnp'];
    let left = protos.length;
    // Even a query that ignores its signal cannot hold the report up.
    const watchdog = setTimeout(() => resolve(undefined), timeoutMs + 500);
    for (const p of protos) {
      void ask(p).then((a) => {
        answers.push({ p, a });
        if (a.ok && a.address !== '' && a.address !== '0.0.0.0') { clearTimeout(watchdog); resolve(a); }
        if (--left === 0) { clearTimeout(watchdog); resolve(undefined); }
      });
    }
  });
  if (first?.ok) {
    const v = validateAddress(first.address, 4);
    if (v.ok) return { address: v.address, via: first.via, error: null, ms: ms() };
    return { address: null, reported: first.address, class: classifyAddress(first.address), via: first.via, error: `the router ${v.why}`, ms: ms() };
  }
  // The router answered, but with no address: that is the telling case (CGNAT, double NAT, WAN down).
  const empty = answers.find(({ a }) => a.ok || a.kind === 'no-address');
  if (empty) {
    const why = empty.a.ok ? `the router reports no external address over ${empty.p}` : empty.a.message;
    return { address: null, via: empty.p, error: why, ms: ms() };
  }
  const failures = answers.map(({ a }) => a).filter((a): a is Extract<RouterAddressAnswer, { ok: false }> => !a.ok);
  const rank = ['protocol', 'timeout', 'network', 'unsupported'];
  failures.sort((a, b) => rank.indexOf(a.kind) - rank.indexOf(b.kind));
  const best = failures[0];
  const allUnsupported = failures.length > 0 && failures.every((f) => f.kind === 'unsupported');
  return { address: null, via: null, error: allUnsupported ? `no router answers NAT-PMP or UPnP (${failures.map((f) => f.message).join('; ')})` : (best?.message ?? 'no answer'), ms: ms() };
}

export async function detectPublicAddresses(config: Config, opts: DetectOptions = {}): Promise<PublicIpReport> {
  const families = [...new Set(opts.families ?? config.ip.families)].sort() as Family[];
  const needsRouter = opts.router === true || (config.ip.sources ?? []).some((s) => s.type === 'upnp' || s.type === 'natpmp' || s.type === 'pcp');
  const routerQuery = opts.routerQuery ?? (needsRouter && !opts.sources ? await defaultRouterQuery() : undefined);
  const inet6 = opts.inet6 ?? (() => readIfInet6());
  const sources = opts.sources ?? buildSources(config.ip, {
    ...(routerQuery ? { routerQuery } : {}), ...(opts.interfaces ? { interfaces: opts.interfaces } : {}), inet6,
  });
  const out: PublicIpReport = {};
  await Promise.all(families.map(async (family) => {
    const [report, router] = await Promise.all([
      runConsensus(sources, family, {
        quorum: config.ip.quorum,
        sourceDeadlineMs: config.ip.timeoutMs + 2000,
        ...(opts.hedgeMs !== undefined ? { hedgeMs: opts.hedgeMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.onAnswer ? { onAnswer: (a: Answer) => opts.onAnswer?.(family, a) } : {}),
      }),
      family === 4 && opts.router === true && routerQuery ? routerView(routerQuery, Math.min(config.ip.timeoutMs, 2500), opts.signal) : Promise.resolve(undefined),
    ]);
    const withRouter: FamilyResult = router ? { ...report, router } : report;
    out[family === 4 ? '4' : '6'] = family === 6 && report.address !== null ? applyStable6(withRouter, await inet6()) : withRouter;
  }));
  return out;
}

/** True when every asked family has an agreed address. */
export function allAgreed(report: PublicIpReport): boolean {
  const fams = Object.values(report);
  return fams.length > 0 && fams.every((f) => f?.address != null);
}
