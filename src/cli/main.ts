#!/usr/bin/env node
/**
 * The `ddns` entry point. A bare `ddns --version` (what scripts and health checks call most) is answered
 * here, before anything else loads: the bundle's build writes the version in (scripts/build.mjs defines
 * DDNS_BUILD_VERSION), so the entry file imports nothing and that start-up is Node's own plus one small
 * file — the figure `node -e 0` sets the floor for. Run from source (tsx) there is no built-in version and
 * the command-line parser answers. Everything else goes to program.ts, with Node's compile cache on
 * (compile-cache.ts): a second `ddns map list` does not compile its modules again.
 */
import { enableCompileCache } from './compile-cache.js';

declare const DDNS_BUILD_VERSION: string | undefined;
const built = typeof DDNS_BUILD_VERSION === 'string' ? DDNS_BUILD_VERSION : undefined;

const args = process.argv.slice(2);
if (built !== undefined && args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`${built}\n`);
else {
  enableCompileCache();
  await (await import('./program.js')).main(process.argv);
}
