/**
 * `ddns check --html FILE`: the one-shot check drawn as the daemon's status page (the same renderer,
 * src/daemon/page.ts), as one self-contained file to keep or attach to a forum post — no script, no
 * external resource, no secret (records by name, forwards by port, tunnels by relay host).
 */
import type { CheckReport } from '../check/report.js';
import { recordNames } from '../check/steps/dns.js';
import type { Config } from '../config/schema.js';
import { renderPage } from '../daemon/page.js';
import type { RecordStatus, StatusDocument, TunnelStatus } from '../daemon/status.js';
import { writeFileAtomic } from '../state/atomic.js';
import { openStateStore } from '../state/store.js';
import { recordKey } from '../update/records.js';

export type Published = Record<string, Partial<Record<'4' | '6', { address: string; at: string }>> | undefined>;

/**
 * The status document of a one-shot check. `published` is the state file's last published address per
 * record key (what `ddns update`/`ddns run` confirmed); forwards are what the configuration asks for (a
 * one-shot check does not hold mappings: `mapping` is left undefined). Pure.
 */
export function oneShotStatus(config: Config, report: CheckReport, at: Date, published: Published, keyOf: (r: Config['records'][number]) => string): StatusDocument {
  const records: RecordStatus[] = config.records.map((r) => {
    const p = published[keyOf(r)] ?? {};
    const addresses: RecordStatus['addresses'] = {};
    for (const f of ['4', '6'] as const) { const x = p[f]; if (x) addresses[f] = { address: x.address, since: x.at }; }
    return { provider: r.provider, name: recordNames(r, config.ip.families).map((n) => n.name).join(', '), addresses, history: [] };
  });
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

/** Reads the state file's published addresses (only when a configuration was loaded) and writes the page. */
export async function writeCheckHtmlFor(file: string, config: Config, report: CheckReport, configured: boolean): Promise<void> {
  const now = new Date();
  let published: Published = {};
  if (configured) {
    const loaded = await openStateStore(config.state).load().catch(() => undefined);
    if (loaded) published = Object.fromEntries(Object.entries(loaded.state.records).map(([k, v]) => [k, v.published]));
  }
  await writeCheckHtml(file, oneShotStatus(config, report, now, published, recordKey), now);
}
