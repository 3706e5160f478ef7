#!/usr/bin/env node
/**
 * The `ddns` entry point. A bare `ddns --version` (what scripts and health checks call most) is answered
 * here, before the command-line parser and the commands' modules are loaded: that start-up is the
 * figure `node -e 0` sets the floor for. Everything else goes to program.ts, with Node's compile cache on
 * (compile-cache.ts): a second `ddns map list` does not compile its modules again.
 */
import pkg from '../../package.json' with { type: 'json' };
import { enableCompileCache } from './compile-cache.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`${pkg.version}\n`);
else {
  enableCompileCache();
  await (await import('./program.js')).main(process.argv);
}
