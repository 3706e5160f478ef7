/** Our own `ddns probe serve` in the lab's internet host, for the lab tests of `ddns check`'s reach. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';

const PROBE_PORT = 8443;
export const PROBE_TOKEN = 'lab-probe-token-0123456789';

/**
 * Starts the probe, HTTPS with the lab certificate, and resolves once it says it listens. Default: on
 * the internet host's IPv4 address, reached by that address. With `name` (a lab hostname the certificate
 * and the hosts files carry, e.g. ifconfig.co): listening dual-stack, reached by that name, so a caller
 * can come over IPv6 — the probe connects back only to the address a request comes from.
 */
export async function startProbe(lab: Lab, o: { name?: string } = {}): Promise<{ config: { url: string; token: string } }> {
  const tokenFile = join(lab.dir, 'probe-token');
  writeFileSync(tokenFile, `${PROBE_TOKEN}\n`);
  const listen = o.name ? `[::]:${PROBE_PORT}` : `${lab.addr.internet4}:${PROBE_PORT}`;
  const child = lab.spawn('wan', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'probe', 'serve',
    '--listen', listen, '--cert', join(lab.dir, 'server.pem'), '--key', join(lab.dir, 'server.key'), '--token-file', tokenFile]);
  child.stdout?.resume();
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => done(new Error(`probe serve did not start within 30 s: ${err}`)), 30_000);
    const onData = (d: Buffer) => { err += d.toString(); if (/listening on https:/.test(err)) done(); };
    const onExit = (code: number | null) => done(new Error(`probe serve exited ${code}: ${err}`));
    function done(e?: Error) {
      clearTimeout(t);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (e) reject(e); else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
  return { config: { url: `https://${o.name ?? lab.addr.internet4}:${PROBE_PORT}`, token: PROBE_TOKEN } };
}
