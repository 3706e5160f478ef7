/**
 * `ddns update` — the command's work: validate `--ip`, run one update pass, render, exit code
 * (0 every record up to date, 1 any record failed, held or waiting).
 */
import { CliError, EXIT, type Context } from './context.js';
import { classifyAddress, canonicalAddress, familyOf } from '../net/address.js';
import { withInterrupt } from './interrupt.js';
import { renderHuman, renderJson } from './render/update.js';
import { runUpdate, type UpdateOptions, type UpdateReport } from '../update/pass.js';

export interface UpdateFlags {
  dryRun?: boolean;
  force?: boolean;
  ip?: string[];
}

/** `--ip` values → canonical global unicast addresses, at most one per family; usage errors otherwise. */
export function parseIpFlags(values: readonly string[]): string[] {
  const out = new Map<number, string>();
  for (const raw of values) {
    const v = raw.trim();
    const family = familyOf(v);
    if (!family) throw new CliError(`--ip ${raw}: not an IP address`, EXIT.usage);
    const cls = classifyAddress(v);
    if (cls !== 'global') throw new CliError(`--ip ${raw}: a ${cls} address cannot be published — give the public (global unicast) address`, EXIT.usage);
    if (out.has(family)) throw new CliError(`--ip ${raw}: IPv${family} given twice (${out.get(family)} and ${v})`, EXIT.usage);
    out.set(family, canonicalAddress(v));
  }
  return [...out.values()];
}

export async function updateCommand(ctx: Context, flags: UpdateFlags, extra: UpdateOptions = {}): Promise<{ code: number; report: UpdateReport }> {
  const ips = parseIpFlags(flags.ip ?? []);
  return withInterrupt(async (signal) => {
    const report = await runUpdate(ctx, { dryRun: flags.dryRun === true, force: flags.force === true, ips, signal, ...extra });
    process.stdout.write(ctx.opts.json ? renderJson(report) : renderHuman(report, ctx.opts.color));
    return { code: report.ok ? EXIT.ok : EXIT.failed, report };
  });
}
