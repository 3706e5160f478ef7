/** `ddns ip [--family 4|6|all]`: the public address per family with every source's answer; exit 1 without a quorum. */
import { Option, type Command } from 'commander';
import { action, EXIT } from './context.js';
import { loadContext } from './config-load.js';
import { withInterrupt } from './interrupt.js';

export function register(program: Command): void {
  program
    .command('ip')
    .description('show the public address per family, agreed by independent sources, with every source\'s answer')
    .addOption(new Option('--family <family>', 'address family to detect (default: ip.families)').choices(['4', '6', 'all']))
    .option('--no-router', 'do not ask the router for its own view of the WAN address')
    .action(action(async (opts: { family?: '4' | '6' | 'all'; router: boolean }, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const [{ detectPublicAddresses, allAgreed }, { renderIpReport }, { paint, printJson }] = await Promise.all([
        import('../publicip/detect.js'), import('./render/ip.js'), import('./output.js'),
      ]);
      const families = opts.family === undefined ? ctx.config.ip.families : opts.family === 'all' ? [4, 6] as const : [Number(opts.family) as 4 | 6];
      return withInterrupt(async (signal) => {
        const report = await detectPublicAddresses(ctx.config, { families, router: opts.router, signal });
        for (const f of Object.values(report)) {
          if (f) ctx.log.debug({ event: 'ip.detected', family: f.family, address: f.address, verdict: f.verdict, agreeing: f.agreeing, ms: f.ms });
        }
        if (ctx.opts.json) printJson(report);
        else process.stdout.write(renderIpReport(report, paint(ctx.opts.color), { verbose: ctx.opts.verbose }));
        return allAgreed(report) ? EXIT.ok : EXIT.failed;
      }, { signals: ['SIGINT'] });
    }));
}
