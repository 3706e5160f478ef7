/**
 * `ddns health` — exit 0 when the local daemon answers /readyz with 200, 1 otherwise (Docker's
 * HEALTHCHECK treats every non-zero as unhealthy; 2 is reserved there, so a bad config is 1 here too).
 * Cheap: with `--url` or DDNS_DAEMON_LISTEN it loads no configuration at all.
 */
import type { Command } from 'commander';
import { action, CliError, EXIT, globalOptions } from './context.js';

export function register(program: Command): void {
  program
    .command('health')
    .description('exit 0 if the local daemon is ready (for Docker HEALTHCHECK), 1 with the reason if not')
    .option('--url <url>', 'the daemon\'s base URL (default: from daemon.listen)')
    .option('--timeout <ms>', 'give up after this long', '3000')
    .action(action(async (flags: { url?: string; timeout: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const { checkHealth, listenFromEnvOrConfig } = await import('../daemon/health-client.js');
      let url = flags.url;
      if (!url) {
        const r = await listenFromEnvOrConfig(g.config);
        if (!r.ok) throw new CliError(r.why, EXIT.failed);
        url = r.url;
      }
      const timeoutMs = Number(flags.timeout) > 0 ? Number(flags.timeout) : 3000;
      const r = await checkHealth(url, timeoutMs);
      if (g.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.ready) process.stdout.write('ready\n');
      else process.stderr.write(`ddns: not ready: ${r.reasons.join('; ')}\n`);
      return r.ready ? EXIT.ok : EXIT.failed;
    }));
}
