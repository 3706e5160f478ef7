/**
 * `ddns check --html FILE`: the one-shot check drawn as the daemon's status page (the same renderer,
 * src/daemon/page.ts), as one self-contained file to keep or attach to a forum post — no script, no
 * external resource, no secret (records by name, forwards by port, tunnels by relay host).
 */
import type { CheckReport } from '../check/report.js';
import type { Config } from '../config/schema.js';
import { renderPage } from '../daemon/page.js';
import { seededStatus, seedRecords, type StatusDocument, type TunnelStatus } from '../daemon/status.js';
import { writeFileAtomic } from '../state/atomic.js';
import { openStateStore, type State } from '../state/store.js';

/**
 * The status document of a one-shot check. `records` is the state file's records section (what
 * `ddns update`/`ddns run` confirmed, and each record's history of changes); forwards are what the
 * configuration asks for (a one-shot check does not hold mappings: `mapping` is left undefined). Pure.
 */
export function oneShotStatus(config: Config, report: CheckReport, at: Date, persisted: State['records']): StatusDocument {
  const records = seedRecords(config, { records: persisted }).map(seededStatus);
  const tunnels: TunnelStatus[] = (config as { tunnels?: ReadonlyArray<{ relay: string; forwards: ReadonlyArray<{ remotePort: number; localPort: number; localAddress?: string }> }> }).tunnels?.map((t) => {
    const host = t.relay.replace(/^[^@]*@/, '');
    const relayHost = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return { relay: host, state: 'down', summary: 'not kept by a one-shot check (see the relay step)', forwards: t.forwards.map((f) => `${relayHost}:${f.remotePort} → ${f.localAddress ?? '127.0.0.1'}:${f.localPort}`) };
  }) ?? [];
  return {
    version: 1,
    generatedAt: at.toISOString(),
    records,
    forwards: config.forwards.map((f) => ({
      key: `${f.protocol}/${f.externalPort ?? f.internalPort}`, protocol: f.protocol, internalPort: f.internalPort,
      externalPort: f.externalPort ?? f.internalPort, families: [...f.families], ...(f.description ? { description: f.description } : {}),
    })),
    tunnels,
    check: { ...report, at: at.toISOString(), reasons: ['ddns check'] },
  };
}

export async function writeCheckHtml(file: string, doc: StatusDocument, now: Date): Promise<void> {
  await writeFileAtomic(file, renderPage(doc, { live: false, now: now.getTime() }));
}

/** Reads the state file's records (only when a configuration was loaded) and writes the page. */
export async function writeCheckHtmlFor(file: string, config: Config, report: CheckReport, configured: boolean): Promise<void> {
  const now = new Date();
  const loaded = configured ? await openStateStore(config.state).load().catch(() => undefined) : undefined;
  await writeCheckHtml(file, oneShotStatus(config, report, now, loaded?.state.records ?? {}), now);
}
