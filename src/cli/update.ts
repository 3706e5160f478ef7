/** `ddns update [--dry-run] [--force] [--ip ADDR]...` — one-shot: detect, compare with the live record, update. */
import type { Command } from 'commander';
import { action } from './context.js';
import { loadContext } from './config-load.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('update')
    .description('detect the public address, compare with each record (state file and live DNS), update the ones that differ')
    .option('--dry-run', 'show what would be sent; call no provider and write nothing')
    .option('--force', 'send even records that are up to date (never one that a provider answer holds)')
    .option('--ip <addr>', 'publish this address instead of detecting it (once per family; repeatable)', collect, [])
    .action(action(async (flags: { dryRun?: boolean; force?: boolean; ip: string[] }, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const { updateCommand } = await import('./update-command.js');
      return (await updateCommand(ctx, flags)).code;
    }));
}
