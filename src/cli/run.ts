/** `ddns run` — the sidecar daemon (src/daemon/daemon.ts). Everything it needs loads only here. */
import type { Command } from 'commander';
import { action, contextWith, secretValues } from './context.js';
import { loadInChild } from './config-child.js';

export function register(program: Command): void {
  program
    .command('run')
    .description('the sidecar daemon: keep records on the public address and forwards on the router; checks the whole path every daemon.checkInterval and after changes; serves the status page at /, /status.json, /healthz, /readyz, /metrics; SIGHUP reloads the config')
    .action(action(async (_flags: object, cmd: Command) => {
      // First, before anything allocates much or compiles WebAssembly (src/daemon/runtime.ts).
      (await import('../daemon/runtime.js')).tuneForIdle();
      // The config is loaded in a short-lived child, at start and at each SIGHUP: zod never loads here.
      const ctx = await contextWith(cmd, loadInChild);
      const [{ runDaemon }, { realDeps }, { addSecrets }] = await Promise.all([
        import('../daemon/daemon.js'), import('../daemon/deps.js'), import('../log.js'),
      ]);
      const code = await runDaemon({
        config: ctx.config,
        log: ctx.log,
        deps: {
          ...realDeps({ configFile: ctx.opts.config, loadConfig: loadInChild, onConfig: (c) => addSecrets(secretValues(c)) }),
          // The path check loads with its first run, not at start (the idle daemon stays small).
          pathCheck: async (config, { signal, store, detection }) => {
            const [{ check }, { realDeps: checkDeps }] = await Promise.all([import('../check/check.js'), import('../check/real-deps.js')]);
            return check({ config, configured: true, deps: checkDeps({ config, configured: true, store, publicIp: () => detection }), signal });
          },
        },
      });
      // Stopped: leave now even if a library still holds an idle socket (the 5 s contract).
      setTimeout(() => process.exit(code), 300).unref();
      return code;
    }));
}
