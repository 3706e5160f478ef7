/** `ddns check`: the one-shot path check. Exit 0 all pass (warnings allowed), 1 a step failed, 2 usage/config. */
import type { Command } from 'commander';
import type { CheckReport } from '../check/report.js';
import { action, EXIT } from './context.js';
import { loadContext } from './config-load.js';
import { withInterrupt } from './interrupt.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('check the whole path: LAN, DHCP lease, router, NAT, public address, DNS, reachability, hairpin')
    .option('--html <file>', 'also write the result as the status page, one self-contained HTML file (no script, no secret)')
    .action(action(async (flags: { html?: string }, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const [{ check }, { liveRenderer }, { paint, printJson }] = await Promise.all([
        import('../check/check.js'), import('./render/check-human.js'), import('./output.js'),
      ]);
      return withInterrupt(async (signal) => {
        const configured = ctx.configSource !== undefined;
        const html = async (rep: CheckReport): Promise<void> => {
          if (flags.html) await (await import('./check-html.js')).writeCheckHtmlFor(flags.html, ctx.config, rep, configured);
        };
        if (ctx.opts.json) {
          const rep = await check({ config: ctx.config, configured, signal });
          await html(rep);
          printJson(rep);
          return rep.ok ? EXIT.ok : EXIT.failed;
        }
        const p = paint(ctx.opts.color);
        const live = liveRenderer(process.stdout, p, { verbose: ctx.opts.verbose, animate: process.stdout.isTTY === true });
        const rep = await check({ config: ctx.config, configured, signal, onStart: live.onStart, onFinish: live.onFinish });
        live.end(rep);
        await html(rep);
        if (flags.html) process.stdout.write(`${p.dim(`wrote ${flags.html}`)}\n`);
        return rep.ok ? EXIT.ok : EXIT.failed;
      }, { signals: ['SIGINT'] });
    }));
}
