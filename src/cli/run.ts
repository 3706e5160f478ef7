/** `ddns run` — the sidecar daemon (src/daemon/daemon.ts). Everything it needs loads only here. */
import type { Command } from 'commander';
import { action, loadContext, secretValues } from './context.js';

export function register(program: Command): void {
  program
    .command('run')
    .description('the sidecar daemon: keep records on the public address and forwards on the router; serves /healthz, /readyz, /metrics; SIGHUP reloads the config')
    .action(action(async (_flags: object, cmd: Command) => {
      // First, before anything allocates much or compiles WebAssembly (src/daemon/runtime.ts).
      (await import('../daemon/runtime.js')).tuneForIdle();
      const ctx = await loadContext(cmd);
      const [{ runDaemon }, { realDeps }, { addSecrets }] = await Promise.all([
        import('../daemon/daemon.js'), import('../daemon/deps.js'), import('../log.js'),
      ]);
      const code = await runDaemon({
        config: ctx.config,
        log: ctx.log,
        deps: realDeps({ configFile: ctx.opts.config, onConfig: (c) => addSecrets(secretValues(c)) }),
      });
      // Stopped: leave now even if a library still holds an idle socket (the 5 s contract).
      setTimeout(() => process.exit(code), 300).unref();
      return code;
    }));
}
