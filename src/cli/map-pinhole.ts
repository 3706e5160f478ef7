/**
 * `ddns map add|remove --family 6` and the pinhole rows of `ddns map list`: inbound IPv6 pinholes to this
 * host's stable address through the router's WANIPv6FirewallControl (src/portmap/pinholes.ts).
 */
import { CliError, EXIT, type GlobalOptions } from './context.js';
import { untilStopped, writeEvent } from './keep.js';
import { lanContext } from '../portmap/lan.js';
import { defaultLedgerPath } from '../portmap/ledger.js';
import { keepPinhole, lanContext6, openFirewall6, type UpnpFirewall6 } from '../portmap/pinholes.js';
import { MappingSession } from '../portmap/session.js';
import type { ListedMapping, Protocol } from '../portmap/types.js';
import { renderPinholeAdd, renderPinholeRemove } from './render/map.js';

/** The one mapping session over the ledger: the pinholes opened here and those `ddns run` keeps. */
const session = () => new MappingSession(defaultLedgerPath());

async function firewall(): Promise<UpnpFirewall6> {
  const [l4, l6] = await Promise.all([lanContext(), lanContext6()]);
  if (!l6.ok) throw new CliError(l6.message);
  if (!l4.ok) throw new CliError(`${l4.message} (the router's UPnP IGD is found from the IPv4 side)`);
  const r = await openFirewall6(l4.lan, l6.lan, { timeoutMs: 5000 });
  if (!r.ok) throw new CliError(r.message);
  return r.firewall;
}

export async function runPinholeAdd(req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: { keep: boolean; via: string }, g: GlobalOptions): Promise<number> {
  if (o.via !== 'auto' && o.via !== 'upnp') throw new CliError(`--family 6 opens pinholes over UPnP (WANIPv6FirewallControl); --via ${o.via} cannot`, EXIT.usage);
  const fw = await firewall();
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

export async function runPinholeRemove(what: { protocol: Protocol; internalPort: number }, g: GlobalOptions): Promise<number> {
  const fw = await firewall();
  const key = { gateway: fw.lan.gateway, protocol: what.protocol, internalPort: what.internalPort, internalAddress: fw.lan.address };
  const ledger = session();
  const known = (await ledger.pinholes(key.gateway)).find((e) => e.protocol === key.protocol && e.internalPort === key.internalPort && e.internalAddress === key.internalAddress);
  const out = known ? await fw.remove(known) : { kind: 'not-found' as const };
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
  let fw: UpnpFirewall6;
  try { fw = await firewall(); } catch (err) {
    notes.push(`IPv6 pinholes: could not ask the router (${err instanceof Error ? err.message : String(err)}); showing what ddns remembers`);
    return known.map((e) => row(e, Math.max(0, Math.round((e.expiresAt - Date.now()) / 1000))));
  }
  const rows: ListedMapping[] = [];
  for (const e of known.filter((x) => x.gateway === fw.lan.gateway)) {
    const held = await fw.holds(e);
    if (held === false) { await ledger.closed(e).catch(() => undefined); continue; }
    rows.push(row(e, Math.max(0, Math.round((e.expiresAt - Date.now()) / 1000))));
  }
  if (all) notes.push('IPv6 pinholes: UPnP cannot list them (WANIPv6FirewallControl has no listing action); ddns shows only those it opened');
  return rows;
}

function row(e: { protocol: Protocol; internalAddress: string; internalPort: number; id: number }, leaseSeconds: number): ListedMapping {
  return {
    via: 'upnp', protocol: e.protocol, externalPort: e.internalPort, internalAddress: e.internalAddress, internalPort: e.internalPort,
    description: `IPv6 pinhole #${e.id}`, leaseSeconds, enabled: true, ours: true, family: 6, pinholeId: e.id,
  };
}
