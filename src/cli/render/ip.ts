/**
 * Human rendering of a PublicIpReport (`ddns ip`): per family the verdict line, the router's own view
 * (and what it means when it differs from the outside view), then one table row per source.
 */
import type { FamilyResult, PublicIpReport } from '../../publicip/detect.js';
import type { SourceReport } from '../../publicip/consensus.js';
import { table, type Paint } from '../output.js';

function statusText(s: SourceReport, p: Paint): string {
  switch (s.status) {
    case 'agreed': return p.green('agreed');
    case 'answered': return p.yellow('answered');
    case 'failed': return p.red(`${s.kind ?? 'failed'}: ${s.error ?? ''}`);
    case 'cancelled': return p.dim('cancelled (quorum reached)');
    case 'skipped': return p.dim('not asked');
  }
}

/** What the router's view says next to the outside view, or undefined when there is nothing to say. */
export function routerNote(f: FamilyResult): string | undefined {
  const r = f.router;
  if (!r) return undefined;
  if (r.address && f.address && r.address !== f.address) {
    return `the router reports ${r.address} but the outside sees ${f.address}: another NAT or a VPN sits between the router and the internet`;
  }
  if (!r.address && f.address) {
    if (r.reported) return `the router's WAN address is ${r.reported} (${r.class ?? 'not public'}) while the outside sees ${f.address}: the router sits behind another NAT (CGNAT or double NAT)`;
    if (r.via) return `the router reports no public address while the outside sees ${f.address}: the router sits behind another NAT (CGNAT or double NAT)`;
  }
  return undefined;
}

function family(f: FamilyResult, p: Paint, verbose: boolean): string {
  const lines: string[] = [];
  const head = `IPv${f.family}`;
  if (f.address) lines.push(`${p.bold(head)}  ${p.green(f.address)}  ${f.message}; quorum ${f.quorum}; ${Math.round(f.ms)} ms`);
  else lines.push(`${p.bold(head)}  ${p.red('unknown')}  ${f.message}`);
  if (f.stable && f.stable.kind !== 'stable') {
    lines.push(`      seen from outside: ${f.stable.observed} (${f.stable.kind === 'none' ? 'unstable: not published' : `temporary: published ${f.stable.address ?? ''} instead`})`);
    lines.push(`      ${p.yellow(f.stable.why)}`);
  } else if (f.stable) {
    lines.push(`      ${p.dim(f.stable.why)}`);
  }
  if (f.router) {
    const r = f.router;
    const what = r.address ?? (r.reported ? `${r.reported} (${r.class ?? 'not public'})` : 'no address');
    lines.push(`      router${r.via ? ` (${r.via})` : ''}: ${what}${r.error && !r.reported ? ` — ${r.error}` : ''}`);
    const note = routerNote(f);
    if (note) lines.push(`      ${p.yellow(note)}`);
  }
  const rows: string[][] = [[p.dim('source'), p.dim('operator'), p.dim('address'), p.dim('ms'), p.dim('result')]];
  for (const s of f.sources) {
    if (s.status === 'skipped' && !verbose) continue;
    rows.push([s.id, s.operator, s.address ?? (s.rejected ? p.red(s.rejected) : '—'), s.ms === null ? '—' : String(Math.round(s.ms)), statusText(s, p)]);
  }
  const skipped = f.sources.filter((s) => s.status === 'skipped').length;
  lines.push(table(rows).split('\n').map((l) => `  ${l}`).join('\n'));
  if (skipped > 0 && !verbose) lines.push(p.dim(`  (${skipped} more source(s) not asked; -v lists them)`));
  return lines.join('\n');
}

export function renderIpReport(report: PublicIpReport, p: Paint, o: { verbose?: boolean } = {}): string {
  const parts = (['4', '6'] as const).map((k) => report[k]).filter((f): f is FamilyResult => f !== undefined).map((f) => family(f, p, o.verbose === true));
  return `${parts.join('\n\n')}\n`;
}
