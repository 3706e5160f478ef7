/**
 * The first hops past the gateway, from `tracepath -n` (iputils; no root needed — it reads ICMP errors
 * through IP_RECVERR, which Node's dgram does not expose). Used only when the router hides its WAN
 * address. Bounded: the child is killed when the signal aborts; whatever it printed by then is used.
 */
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import type { HopsFacts } from '../facts.js';

/** What to install when tracepath is missing (Debian/Ubuntu; `iputils` elsewhere). */
export const TRACEPATH = { program: 'tracepath', debianPackage: 'iputils-tracepath' } as const;

/** Parses tracepath output: hop addresses in order (hop number ≥ 1), without duplicates or `no reply`. */
export function parseTracepath(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)[?]?:\s+(\S+)/.exec(line);
    if (!m || !m[2]) continue;
    const addr = m[2];
    if (isIP(addr) === 0 || out.includes(addr)) continue;
    out.push(addr);
  }
  return out;
}

/** `program`: the tracer to run (tests point it at a name that does not exist). */
export function tracepathHops(o: { target: string; gateway: string; maxHops?: number; signal: AbortSignal; program?: string }): Promise<HopsFacts> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      const notInstalled = (err as { code?: unknown } | undefined)?.code === 'ENOENT';
      resolve(notInstalled ? { hops: [], missing: { ...TRACEPATH } } : { hops: parseTracepath(text).filter((a) => a !== o.gateway) });
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(o.program ?? TRACEPATH.program, ['-4', '-n', '-m', String(o.maxHops ?? 3), o.target], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      finish(err);
      return;
    }
    const onAbort = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } finish(); };
    if (o.signal.aborted) { onAbort(); return; }
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', finish);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (text.length < 16_384) text += d;
      // Two hops past the gateway are all the verdict needs.
      if (parseTracepath(text).filter((a) => a !== o.gateway).length >= 2) onAbort();
    });
    child.on('close', () => finish());
  });
}
