/** Renders `ddns map` results: human tables and lines, or the `--json` documents of the CLI contract. */
import { paint, printJson, table } from '../output.js';
import type { ListedMapping, MapOutcome, RemoveOutcome } from '../../portmap/types.js';
import type { PinholeOutcome, PinholeRemoveOutcome } from '../../portmap/pinholes.js';

/**
 * `map list --json`: array of { protocol, externalPort, internalAddress, internalPort, description,
 * leaseSeconds, via, ours }; an IPv6 pinhole's row adds `family: 6` and its `pinholeId`.
 */
export function listJson(mappings: readonly ListedMapping[]): unknown[] {
  return mappings.map((m) => ({
    protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort,
    description: m.description, leaseSeconds: m.leaseSeconds, via: m.via, ours: m.ours,
    ...(m.family === 6 ? { family: 6, ...(m.pinholeId !== undefined ? { pinholeId: m.pinholeId } : {}) } : {}),
  }));
}

export function renderPinholeAdd(out: PinholeOutcome, o: { json: boolean; color: boolean }): void {
  if (o.json) {
    if (out.kind === 'opened') {
      const h = out.pinhole;
      return printJson({ opened: true, family: 6, protocol: h.protocol, internalAddress: h.internalAddress, internalPort: h.internalPort, leaseSeconds: h.leaseSeconds, via: h.via, pinholeId: h.id });
    }
    return printJson({ opened: false, family: 6, kind: out.kind, ...('reason' in out ? { reason: out.reason } : {}), message: out.why });
  }
  const p = paint(o.color);
  if (out.kind === 'opened') {
    const h = out.pinhole;
    process.stdout.write(`${p.green('opened')} IPv6 pinhole ${h.protocol} [${h.internalAddress}]:${h.internalPort} via ${h.via} (id ${h.id}), lease ${h.leaseSeconds} s\n`);
    return;
  }
  process.stdout.write(`${p.red(out.kind === 'refused' ? `refused (${out.reason})` : out.kind)}: ${out.why}\n`);
}

export function renderPinholeRemove(out: PinholeRemoveOutcome, what: { protocol: string; internalPort: number }, o: { json: boolean; color: boolean }): void {
  if (o.json) return printJson({ removed: out.kind === 'removed', family: 6, kind: out.kind, protocol: what.protocol, internalPort: what.internalPort, ...('why' in out ? { message: out.why } : {}) });
  const p = paint(o.color);
  if (out.kind === 'removed') process.stdout.write(`${p.green('removed')} IPv6 pinhole ${what.protocol} ${what.internalPort}\n`);
  else if (out.kind === 'not-found') process.stdout.write(`${p.yellow('no such pinhole')}: ${what.protocol} ${what.internalPort} (none that ddns opened)\n`);
  else process.stdout.write(`${p.red('failed')}: ${out.why}\n`);
}

export function renderList(mappings: readonly ListedMapping[], o: { json: boolean; color: boolean; all: boolean; notes: string[] }): void {
  if (o.json) return printJson(listJson(mappings));
  const p = paint(o.color);
  for (const n of o.notes) process.stderr.write(`note: ${n}\n`);
  if (mappings.length === 0) {
    process.stdout.write(o.all ? 'no mappings on the router\n' : 'no mappings for this host\n');
    return;
  }
  const head = ['PROTO', 'EXTERNAL', 'INTERNAL', 'LEASE', 'VIA', ...(o.all ? ['OWNER'] : []), 'DESCRIPTION'];
  const rows = mappings.map((m) => [
    m.protocol, m.family === 6 ? 'pinhole' : String(m.externalPort), m.family === 6 ? `[${m.internalAddress}]:${m.internalPort}` : `${m.internalAddress}:${m.internalPort}`,
    m.leaseSeconds === 0 ? 'permanent' : `${m.leaseSeconds}s`, m.via,
    ...(o.all ? [m.ours ? p.green('ours') : p.yellow('other host')] : []),
    JSON.stringify(m.description),
  ]);
  process.stdout.write(`${table([head.map((h) => p.bold(h)), ...rows])}\n`);
  if (o.all) {
    const others = mappings.filter((m) => !m.ours).length;
    if (others > 0) process.stdout.write(p.yellow(`${others} mapping(s) point at other hosts: each is a port open from the internet to that host.\n`));
  }
}

export function renderAdd(out: MapOutcome, o: { json: boolean; color: boolean }): void {
  if (o.json) {
    if (out.kind === 'mapped') {
      const m = out.mapping;
      return printJson({
        mapped: true, protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort,
        description: m.description, leaseSeconds: m.leaseSeconds, via: m.via, externalAddress: m.externalAddress ?? null, permanent: out.permanent,
      });
    }
    const advice = adviceFor(out);
    return printJson({ mapped: false, kind: out.kind, via: out.via, ...('reason' in out ? { reason: out.reason } : {}), ...('holder' in out && out.holder ? { holder: out.holder } : {}), message: out.why, ...(advice ? { advice } : {}) });
  }
  const p = paint(o.color);
  if (out.kind === 'mapped') {
    const m = out.mapping;
    const ext = `${m.externalAddress ?? '(router)'}:${m.externalPort}`;
    process.stdout.write(`${p.green('mapped')} ${m.protocol} ${ext} → ${m.internalAddress}:${m.internalPort} via ${m.via}, ${m.leaseSeconds === 0 ? 'permanent lease' : `lease ${m.leaseSeconds} s`}\n`);
    if (out.permanent) process.stdout.write(p.yellow('the router grants only permanent leases: it stays until `ddns map remove` (or `ddns run` removes it at its lease end)\n'));
    return;
  }
  const label = out.kind === 'conflict' ? 'port in use' : out.kind === 'refused' ? `refused (${out.reason})` : out.kind;
  process.stdout.write(`${p.red(label)} via ${out.via}: ${out.why}\n`);
  const advice = adviceFor(out);
  if (advice) process.stdout.write(`${p.dim(advice)}\n`);
}

export function renderRemove(out: RemoveOutcome, what: { protocol: string; externalPort: number }, o: { json: boolean; color: boolean }): void {
  if (o.json) return printJson({ removed: out.kind === 'removed', kind: out.kind, via: out.via, protocol: what.protocol, externalPort: what.externalPort, ...('why' in out ? { message: out.why } : {}) });
  const p = paint(o.color);
  if (out.kind === 'removed') process.stdout.write(`${p.green('removed')} ${what.protocol} ${what.externalPort} via ${out.via}\n`);
  else if (out.kind === 'not-found') process.stdout.write(`${p.yellow('no such mapping')}: ${what.protocol} ${what.externalPort} via ${out.via}\n`);
  else process.stdout.write(`${p.red(out.kind)} via ${out.via}: ${out.why}\n`);
}

/** What a person can do about a failed mapping. */
export function adviceFor(out: Exclude<MapOutcome, { kind: 'mapped' }>): string | undefined {
  if (out.kind === 'conflict') return 'choose another external port with --external, or free this one on the router';
  if (out.kind !== 'refused') return undefined;
  switch (out.reason) {
    case 'secure-mode': return "the router maps only the address a request comes from: run ddns on the host that should receive the connections, or allow the port in the router's UPnP rules";
    case 'no-public-address':
    case 'address-mismatch': return 'a mapping here cannot be reached from the internet: ask the ISP for a public IPv4 address (or bridge mode on the first router), or use IPv6 or a tunnel';
    default: return undefined;
  }
}
