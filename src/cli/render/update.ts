/**
 * The renderers of `ddns update`: one JSON document (`--json`), or a table with the reasons and fixes
 * for people. Data comes from runUpdate's UpdateReport; nothing here decides anything.
 */
import { paint, table } from '../output.js';
import { scrubText } from '../../log.js';
import type { RecordReport, UpdateReport } from '../../update/pass.js';

export function renderJson(r: UpdateReport): string {
  // Provider texts come from servers: cut any known secret out, as the logger does.
  return `${scrubText(JSON.stringify(r, null, 2))}\n`;
}

function addr(a: RecordReport['addresses']): string {
  return [a['4'], a['6']].filter((x) => x).join(' ') || '—';
}

export function renderHuman(r: UpdateReport, color: boolean): string {
  const p = paint(color);
  const lines: string[] = [];
  for (const f of ['4', '6'] as const) {
    const w = r.addresses[f];
    if (!w) continue;
    lines.push(`IPv${f}: ${w.address ? p.bold(w.address) : p.red('unknown')}${w.source === 'ip-flag' ? ' (from --ip)' : ` (${w.message})`}`);
  }
  if (r.stateProblem) lines.push(p.yellow(`warning: ${r.stateProblem}`));
  if (r.records.length === 0) {
    lines.push('no records configured — add some under `records:` (see `ddns config schema`)');
    return `${lines.join('\n')}\n`;
  }
  const status = (s: RecordReport['status']): string => {
    switch (s) {
      case 'updated': return p.green('updated');
      case 'unchanged':
      case 'current': return p.green('up to date');
      case 'planned': return p.yellow('would update');
      case 'held': return p.red('HELD');
      case 'waiting':
      case 'retryAfter': return p.yellow('retry later');
      case 'failed': return p.red('FAILED');
    }
  };
  const rows = [[p.dim('RECORD'), p.dim('RESULT'), p.dim('ADDRESS')], ...r.records.map((x) => [x.label, status(x.status), addr(x.addresses)])];
  lines.push('', table(rows));
  const notes: string[] = [];
  for (const x of r.records) {
    const bits: string[] = [];
    if (x.why) bits.push(x.heldSince ? `${x.why} (held since ${x.heldSince})` : x.why);
    if (x.retryAt) bits.push(`next attempt not before ${x.retryAt}`);
    if (x.missing?.length) bits.push(`no public IPv${x.missing.join('/IPv')} address, that family was not sent`);
    if (x.fix) bits.push(`fix: ${x.fix}`);
    if (bits.length > 0) notes.push(`${x.label}: ${bits.join(' — ')}`);
  }
  if (notes.length > 0) lines.push('', ...notes);
  if (r.records.some((x) => x.status === 'held')) lines.push(p.dim('a held record gets no request until its configuration (credentials, hostname, server) changes'));
  if (r.dryRun) lines.push('', p.dim('dry run: no provider was called and the state file was not written'));
  return `${scrubText(lines.join('\n'))}\n`;
}
