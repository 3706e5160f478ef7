/**
 * The work behind `ddns map add | list | remove` (loaded lazily by map.ts). Builds data, hands it to
 * render/map.ts. Loads no configuration: mapping needs only the default route and the router.
 */
import { CliError, EXIT, type GlobalOptions } from './context.js';
import { untilStopped, writeEvent } from './keep.js';
import { renderAdd, renderList, renderRemove } from './render/map.js';
import { lanContext } from '../portmap/lan.js';
import { openMapper, type Mapper } from '../portmap/mapper.js';
import { closeHttp, preloadHttp } from '../portmap/upnp/http.js';
import { defaultLedgerPath, hintPath, readGatewayHint, rememberGateway } from '../portmap/ledger.js';
import { MappingSession } from '../portmap/session.js';
import { UpnpMapper } from '../portmap/mapper-upnp.js';
import { keepMappings, type KeepOptions } from '../portmap/upkeep.js';
import { cleanDescription, parsePort, type LanContext, type ListedMapping, type MappingRequest, type Protocol, type ViaChoice } from '../portmap/types.js';

function port(name: string, v: unknown): number {
  const p = typeof v === 'string' ? parsePort(v) : undefined;
  if (p === undefined) throw new CliError(`${name}: "${String(v)}" is not a port — give an integer from 1 to 65535`, EXIT.usage);
  return p;
}

function lease(v: unknown): number {
  const s = String(v);
  if (!/^\d{1,9}$/.test(s) || Number(s) < 1 || Number(s) > 31_536_000) throw new CliError(`--lease: "${s}" is not a lease — give seconds from 1 to 31536000`, EXIT.usage);
  return Number(s);
}

async function lan(): Promise<LanContext> {
  const l = await lanContext();
  if (!l.ok) throw new CliError(l.why);
  return l.lan;
}

/**
 * Opens a mapper; UPnP tries the description URL remembered from last time before SSDP. With
 * `rememberedService` (map list), the WAN connection service remembered with it is used without reading
 * the description again: the mapper's gateway then says `fromHint`, and a caller whose first call fails
 * opens again with `rememberedService: false`.
 */
async function tryOpen(via: ViaChoice, l: LanContext, o: { rememberedService?: boolean } = {}): Promise<Awaited<ReturnType<typeof openMapper>>> {
  const hints = hintPath(ledgerPath());
  const hint = via === 'auto' || via === 'upnp' ? await readGatewayHint(hints, l.gateway) : undefined;
  const upnp = hint ? { hint: hint.location, ...(o.rememberedService && hint.service ? { hintService: hint.service } : {}) } : undefined;
  const r = await openMapper(via, l, { interactive: true, ...(upnp ? { upnp } : {}) });
  if (r.ok && r.mapper instanceof UpnpMapper && !r.mapper.gateway.fromHint) {
    await rememberGateway(hints, l.gateway, r.mapper.gateway.hit.location, r.mapper.gateway.igd.service).catch(() => undefined);
  }
  return r;
}

async function open(via: ViaChoice, l: LanContext): Promise<Mapper> {
  const r = await tryOpen(via, l);
  if (!r.ok) throw new CliError(r.why);
  return r.mapper;
}

const ledgerPath = () => defaultLedgerPath();
/** The one mapping session over the ledger (`ddns run` uses it too): what was made here, and by the daemon beside it. */
const session = () => new MappingSession(ledgerPath());

// Every map command may talk HTTP to an IGD: start loading the HTTP client while the route and files are read.
void preloadHttp().catch(() => undefined);

export async function runMapAdd(internal: string, opts: Record<string, unknown>, g: GlobalOptions): Promise<number> {
  const internalPort = port('INTERNAL_PORT', internal);
  const externalPort = opts.external === undefined ? undefined : port('--external', opts.external);
  if (opts.family === '6') {
    if (externalPort !== undefined && externalPort !== internalPort) throw new CliError('--external: an IPv6 pinhole translates nothing — the port from outside is the port of this host', EXIT.usage);
    const { runPinholeAdd } = await import('./map-pinhole.js');
    try {
      return await runPinholeAdd({ protocol: opts.protocol as Protocol, internalPort, leaseSeconds: Math.min(lease(opts.lease), 86400) }, { keep: opts.keep === true, via: String(opts.via) }, g);
    } finally {
      await closeHttp();
    }
  }
  const request: MappingRequest = {
    protocol: opts.protocol as Protocol, internalPort, ...(externalPort !== undefined ? { externalPort } : {}),
    leaseSeconds: lease(opts.lease), description: cleanDescription(String(opts.description ?? 'ddns')) || 'ddns',
  };
  const l = await lan();
  try {
    const mapper = await open(opts.via as ViaChoice, l);
    const ledger = session();
    await ledger.seed(mapper);
    const out = await mapper.map(request, { fixedExternal: externalPort !== undefined });
    if (out.kind === 'mapped') {
      await ledger.granted(mapper, out.mapping, out.permanent ? 0 : out.expiresAt)
        .catch((err: unknown) => process.stderr.write(`note: could not record the mapping in ${ledger.path}: ${String(err)}\n`));
    }
    renderAdd(out, g);
    if (out.kind !== 'mapped') return EXIT.failed;
    if (opts.keep) await keep(mapper, { ...request, externalPort: out.mapping.externalPort }, externalPort !== undefined);
    return EXIT.ok;
  } finally {
    await closeHttp();
  }
}

/** `--keep`: upkeep until SIGINT/SIGTERM, then remove the mapping. Events go to stderr as JSON lines. */
async function keep(mapper: Mapper, request: MappingRequest, fixedExternal: boolean): Promise<void> {
  await untilStopped(async (signal, checkIntervalMs) => {
    await keepRecorded(mapper, request, session(), {
      signal, removeOnStop: true, fixedExternal, checkIntervalMs, retryMs: Math.min(15_000, checkIntervalMs), onEvent: writeEvent,
    });
  });
}

/**
 * `--keep`'s upkeep of one mapping: every grant and renewal rewrites its ledger record with the new expiry
 * (so another process sees it held, and adopts it, until then); the record goes once upkeep has ended.
 */
export async function keepRecorded(mapper: Mapper, request: MappingRequest, ledger: MappingSession, o: KeepOptions): Promise<void> {
  const now = o.now ?? Date.now;
  await keepMappings(mapper, [request], {
    ...o,
    onEvent: (e) => {
      o.onEvent?.(e);
      if (e.event !== 'mapping.added' && e.event !== 'mapping.renewed') return;
      // A lease of 0 is a permanent mapping: the ledger's 0.
      ledger.granted(mapper, e.mapping, e.mapping.leaseSeconds > 0 ? now() + e.mapping.leaseSeconds * 1000 : 0)
        .catch((err: unknown) => process.stderr.write(`note: could not record the mapping in ${ledger.path}: ${String(err)}\n`));
    },
  });
  await ledger.released({ protocol: request.protocol, externalPort: request.externalPort ?? request.internalPort, gateway: mapper.lan.gateway }).catch(() => undefined);
}

export async function runMapList(opts: Record<string, unknown>, g: GlobalOptions): Promise<number> {
  const all = opts.all === true;
  const via = opts.via as ViaChoice;
  const l = await lan();
  const notes: string[] = [];
  let mappings: ListedMapping[] = [];
  // The pinhole rows' module loads while the router answers.
  const pinholes = via === 'auto' || via === 'upnp' ? import('./map-pinhole.js') : undefined;
  try {
    if (via === 'auto' || via === 'upnp') {
      let r = await tryOpen('upnp', l, { rememberedService: true });
      let listed = r.ok ? await r.mapper.list() : undefined;
      if (r.ok && r.mapper instanceof UpnpMapper && r.mapper.gateway.fromHint && listed?.kind !== 'listed') {
        r = await tryOpen('upnp', l); // the remembered service did not answer: read the description (or search) again
        listed = r.ok ? await r.mapper.list() : undefined;
      }
      if (!r.ok) {
        if (via === 'upnp') throw new CliError(r.why);
        notes.push(`the router does not answer UPnP (${r.why}); NAT-PMP and PCP cannot list, so this shows what ddns itself mapped (its ledger)`);
      } else if (listed) {
        if (listed.kind !== 'listed') throw new CliError(listed.why);
        if (!listed.complete && listed.note) notes.push(listed.note);
        mappings = listed.mappings;
      }
    }
    if (via !== 'upnp' && (via !== 'auto' || notes.length > 0)) {
      const now = Date.now();
      mappings = (await session().mappings(l.gateway))
        .filter((e) => e.via !== 'upnp' && (via === 'auto' || e.via === via))
        .map((e) => ({
          via: e.via, protocol: e.protocol, externalPort: e.externalPort, internalAddress: e.internalAddress, internalPort: e.internalPort,
          description: e.description, leaseSeconds: e.expiresAt === 0 ? 0 : Math.max(0, Math.round((e.expiresAt - now) / 1000)),
          enabled: true, ours: e.internalAddress === l.address,
        }));
      if (via !== 'auto') notes.push(`${via} cannot list the router's mappings: this shows what ddns itself mapped (its ledger)`);
    }
    if (pinholes) {
      const { listPinholes } = await pinholes;
      mappings = [...mappings, ...(await listPinholes(all, notes))];
    }
  } finally {
    await closeHttp();
  }
  renderList(all ? mappings : mappings.filter((m) => m.ours), { json: g.json, color: g.color, all, notes });
  return EXIT.ok;
}

export async function runMapRemove(external: string, opts: Record<string, unknown>, g: GlobalOptions): Promise<number> {
  const externalPort = port('EXTERNAL_PORT', external);
  const protocol = opts.protocol as Protocol;
  if (opts.family === '6') {
    const { runPinholeRemove } = await import('./map-pinhole.js');
    try {
      return await runPinholeRemove({ protocol, internalPort: externalPort }, { via: String(opts.via) }, g);
    } finally {
      await closeHttp();
    }
  }
  const l = await lan();
  const ledger = session();
  const known = (await ledger.mappings(l.gateway)).find((e) => e.protocol === protocol && e.externalPort === externalPort);
  const via: ViaChoice = opts.via !== 'auto' ? (opts.via as ViaChoice) : known?.via ?? 'auto';
  try {
    const mapper = await open(via, l);
    await ledger.seed(mapper);
    const internalPort = known?.internalPort ?? (mapper.via === 'upnp' ? undefined : externalPort);
    const out = await mapper.unmap({ protocol, externalPort, ...(internalPort !== undefined ? { internalPort } : {}) });
    if (out.kind === 'removed' || out.kind === 'not-found') await ledger.released({ protocol, externalPort, gateway: l.gateway }).catch(() => undefined);
    renderRemove(out, { protocol, externalPort }, g);
    return out.kind === 'removed' ? EXIT.ok : EXIT.failed;
  } finally {
    await closeHttp();
  }
}
