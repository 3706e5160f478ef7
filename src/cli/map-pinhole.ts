/**
 * `ddns map add|remove --family 6` and the pinhole rows of `ddns map list`: inbound IPv6 pinholes to this
 * host's stable address through the router's UPnP WANIPv6FirewallControl or PCP (src/portmap/pinholes.ts,
 * pinholes-pcp.ts); `--via auto` takes UPnP when the router offers it, else PCP.
 */
import { CliError, EXIT, type GlobalOptions } from './context.js';
import { untilStopped, writeEvent } from './keep.js';
import { lanContext } from '../portmap/lan.js';
import { defaultLedgerPath } from '../portmap/ledger.js';
import { findFirewall6, keepPinhole, lanContext6, pinholeName, type Firewall6 } from '../portmap/pinholes.js';
import type { PinholeEntry } from '../portmap/ledger.js';
import { MappingSession } from '../portmap/session.js';
import type { ListedMapping, Protocol } from '../portmap/types.js';
import { renderPinholeAdd, renderPinholeRemove } from './render/map.js';

/** The one mapping session over the ledger: the pinholes opened here and those `ddns run` keeps. */
const session = () => new MappingSession(defaultLedgerPath());

type Via6 = 'auto' | 'upnp' | 'pcp';

function via6(via: string): Via6 {
  if (via === 'auto' || via === 'upnp' || via === 'pcp') return via;
  throw new CliError(`--family 6 opens pinholes over UPnP (WANIPv6FirewallControl) or PCP; --via ${via} cannot`, EXIT.usage);
}

async function firewall(via: Via6): Promise<Firewall6> {
  const [l4, l6] = await Promise.all([via === 'pcp' ? { ok: false as const, why: 'not asked' } : lanContext(), lanContext6()]);
  if (!l6.ok) throw new CliError(l6.why);
  const r = await findFirewall6(l4, l6.lan, via, { timeoutMs: 5000 });
  if (!r.ok) throw new CliError(r.why);
  return r.firewall;
}

export async function runPinholeAdd(req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: { keep: boolean; via: string }, g: GlobalOptions): Promise<number> {
  const fw = await firewall(via6(o.via));
  const out = await fw.open(req);
  if (out.kind === 'opened') {
    const p = out.pinhole;
    const ledger = session();
    await ledger.opened(p, fw.lan.gateway, Date.now() + p.leaseSeconds * 1000)
      .catch((err: unknown) => process.stderr.write(`note: could not record the pinhole in ${ledger.path}: ${String(err)}\n`));
  }
  renderPinholeAdd(out, g);
  if (out.kind !== 'opened') return EXIT.failed;
  if (o.keep) {
    const ledger = session();
    // Upkeep takes over the pinhole just opened: it renews it, re-opens it when the router lost it.
    await untilStopped(async (signal, checkIntervalMs) => {
      await keepPinhole(fw, req, {
        signal, initial: out.pinhole, removeOnStop: true, checkIntervalMs, retryMs: Math.min(15_000, checkIntervalMs),
        onEvent: (e) => {
          writeEvent(e);
          if (e.event === 'pinhole.opened' || e.event === 'pinhole.renewed') {
            void ledger.opened(e.pinhole, fw.lan.gateway, Date.now() + e.pinhole.leaseSeconds * 1000).catch(() => undefined);
          }
        },
      });
      await ledger.idle();
      await ledger.closed({ gateway: fw.lan.gateway, protocol: req.protocol, internalPort: req.internalPort, internalAddress: fw.lan.address }).catch(() => undefined);
    });
  }
  return EXIT.ok;
}

export async function runPinholeRemove(what: { protocol: Protocol; internalPort: number }, o: { via: string }, g: GlobalOptions): Promise<number> {
  const via = via6(o.via);
  const l6 = await lanContext6();
  if (!l6.ok) throw new CliError(l6.why);
  const key = { gateway: l6.lan.gateway, protocol: what.protocol, internalPort: what.internalPort, internalAddress: l6.lan.address };
  const ledger = session();
  const known = (await ledger.pinholes(key.gateway)).find((e) => e.protocol === key.protocol && e.internalPort === key.internalPort && e.internalAddress === key.internalAddress);
  // The pinhole is removed the way it was made (a PCP one needs its nonce).
  const out = known ? await (await firewall(via === 'auto' ? known.via : via)).remove(known) : { kind: 'not-found' as const };
  if (out.kind !== 'failed') await ledger.closed(key).catch(() => undefined);
  renderPinholeRemove(out, what, g);
  return out.kind === 'removed' ? EXIT.ok : EXIT.failed;
}

/**
 * The pinholes ddns opened (`ddns map` or `ddns run`, one ledger) that the router still holds, as list rows. WANIPv6FirewallControl has no
 * listing action, so other hosts' pinholes cannot be shown; `notes` says so when it matters.
 */
export async function listPinholes(all: boolean, notes: string[]): Promise<ListedMapping[]> {
  const ledger = session();
  const known = await ledger.pinholes();
  if (known.length === 0) {
    if (all) notes.push('IPv6 pinholes: UPnP cannot list them (WANIPv6FirewallControl has no listing action); ddns shows only those it opened');
    return [];
  }
  const rows: ListedMapping[] = [];
  for (const via of (['upnp', 'pcp'] as const).filter((v) => known.some((e) => e.via === v))) {
    const mine = known.filter((e) => e.via === via);
    let fw: Firewall6;
    try { fw = await firewall(via); } catch (err) {
      notes.push(`IPv6 pinholes (${via}): could not ask the router (${err instanceof Error ? err.message : String(err)}); showing what ddns remembers`);
      rows.push(...mine.map((e) => row(e, Math.max(0, Math.round((e.expiresAt - Date.now()) / 1000)))));
      continue;
    }
    for (const e of mine.filter((x) => x.gateway === fw.lan.gateway)) {
      const held = await fw.holds(e);
      if (held === false) { await ledger.closed(e).catch(() => undefined); continue; }
      rows.push(row(e, Math.max(0, Math.round((e.expiresAt - Date.now()) / 1000))));
    }
  }
  if (all) notes.push('IPv6 pinholes: UPnP cannot list them (WANIPv6FirewallControl has no listing action); ddns shows only those it opened');
  return rows;
}

function row(e: PinholeEntry, leaseSeconds: number): ListedMapping {
  return {
    via: e.via, protocol: e.protocol, externalPort: e.internalPort, internalAddress: e.internalAddress, internalPort: e.internalPort,
    description: `IPv6 pinhole ${e.id !== undefined ? `#${e.id}` : `(${pinholeName(e)})`}`, leaseSeconds, enabled: true, ours: true, family: 6,
    ...(e.id !== undefined ? { pinholeId: e.id } : {}),
  };
}
