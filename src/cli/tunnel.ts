/**
 * `ddns tunnel`: keeps the configured relay tunnels up in the foreground (what autossh is used for).
 * Exit 0 on SIGTERM/SIGINT (the sessions are closed first, so the relay drops its listeners), 2 on a
 * configuration error, 1 when a tunnel cannot be made (host key, key refused, remote port refused).
 */
import type { Command } from 'commander';
import { action, CliError, EXIT } from './context.js';
import { loadContext } from './config-load.js';
import { untilInterrupt } from './interrupt.js';

export function register(program: Command): void {
  program
    .command('tunnel')
    .description('keep the configured relay tunnels up in the foreground (reverse SSH tunnels, like autossh)')
    .action(action(async (_opts: object, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const [{ tunnelSpecs, startTunnels }, { ssh2Link, privateKeyProblem }, { tunnelLogLine }, { realClock }] = await Promise.all([
        import('../tunnel/tunnels.js'), import('../tunnel/ssh2.js'), import('../tunnel/events.js'), import('../state/clock.js'),
      ]);
      if (ctx.config.tunnels.length === 0) throw new CliError('no tunnels configured — add a tunnels: list (see the README, "Behind CGNAT: a relay")', EXIT.usage);
      const { specs, problems } = tunnelSpecs(ctx.config);
      for (const s of specs) {
        const p = privateKeyProblem(s.privateKey);
        if (p) problems.push(`${s.name}.identity: ${p}`);
      }
      if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT.usage);

      let failed: string | undefined;
      const failure = new AbortController();
      const tunnels = startTunnels(specs, {
        link: ssh2Link(),
        clock: realClock,
        onEvent: (e, st) => {
          const { level, fields } = tunnelLogLine(e, st);
          ctx.log[level](fields);
          if (e.event === 'tunnel.failed') { failed ??= `${st.name} (${st.relay}): ${e.message}`; failure.abort(); }
        },
      });
      // untilInterrupt holds the process while a tunnel waits out a backoff (realClock's timers are unref'd).
      await untilInterrupt({ also: failure.signal });
      await tunnels.stop();
      if (failed) throw new CliError(`a tunnel cannot be made: ${failed}`, EXIT.failed);
      return EXIT.ok;
    }));
}
