/**
 * A public-IP watcher as a process, for the lab (test/lab/publicip.test.ts runs it in the LAN host):
 * the default sources and configuration, announcements on, router polls off (so a change can only be
 * noticed through the announcement or the 10-minute interval). Prints one JSON line per event on stdout;
 * SIGTERM stops it.
 */
import { configSchema } from '../../src/config/schema.js';
import { createPublicIpWatcher } from '../../src/publicip/watcher-deps.js';

const out = (o: object): void => { process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`); };

const config = configSchema.parse({ ip: { families: [4] } });
const watcher = createPublicIpWatcher(config, { poll: false, intervalMs: 600_000 });
watcher.on('change', (c) => out({ event: 'change', family: c.family, from: c.from, to: c.to, trigger: c.trigger }));
watcher.on('signal', (s) => out({ event: 'signal', trigger: s.trigger, detail: s.detail }));
watcher.on('unconfirmed', (u) => out({ event: 'unconfirmed', family: u.family, message: u.report?.message ?? null }));
// The watcher's timers do not hold the process open (src/state/clock.ts); this process lives until SIGTERM.
const alive = setInterval(() => undefined, 1 << 30);
process.on('SIGTERM', () => { clearInterval(alive); void watcher.stop().then(() => process.exit(0)); });
await watcher.start();
out({ event: 'started', listening: watcher.listening });
