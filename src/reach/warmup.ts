/**
 * Warming the probe's request path before it listens: a freshly started Node process runs its HTTP machinery
 * (socket set-up, the parser, writes, close) in V8's interpreter until the code has been called often enough
 * to be optimised, so the first burst it meets costs several times the CPU of the same burst later (measured
 * under the bench's attack: ~0.6–1.0 s of CPU in the first 200 ms sample vs ~0.2 s once warm). `drive` sends
 * a fixed mix of requests over loopback to a throwaway instance of the probe (the same handler, a state of its
 * own, no log) so the code an attack hits first is already optimised when the real one starts listening.
 *
 * Contract: `drive` only connects to the loopback port it is given; it runs at most `connections`
 * connections, `concurrency` at a time, and starts no new one after `budgetMs` or once `signal` aborts (a
 * loaded machine gets a shorter warm-up, never a late start); each connection is bounded by the budget too.
 * It never throws; it resolves to the number of connections that ran to their end within the budget.
 */
import { connect, type Socket } from 'node:net';

export interface WarmUpOptions {
  /** Connections to make (default 1000). */
  connections?: number;
  /** At most this many open at once (default 32; below the probe's per-peer cap would be 16, see the caller). */
  concurrency?: number;
  /** No new connection after this long (default 3000 ms). */
  budgetMs?: number;
}

export const WARM_UP_DEFAULTS = { connections: 1000, concurrency: 32, budgetMs: 3000 } as const;

/**
 * The mix an attack and its victims bring: a valid GET /ip (with the token, if any), a wrong token
 * (401 and close), headers that never end (the client gives up), /healthz, and a POST /v1/reach whose
 * body is not JSON. None of them makes the probe connect anywhere.
 */
function requests(token: string | undefined): { text: string; thenClose: boolean }[] {
  const auth = token === undefined ? '' : `Authorization: Bearer ${token}\r\n`;
  return [
    { text: `GET /ip HTTP/1.1\r\nHost: probe\r\n${auth}Connection: close\r\n\r\n`, thenClose: false },
    { text: `GET /ip HTTP/1.1\r\nHost: probe\r\nAuthorization: Bearer warm-up-wrong-token\r\n\r\n`, thenClose: false },
    { text: 'GET /ip HTTP/1.1\r\nHost: probe\r\nX-Slow: 1\r\n', thenClose: true },
    { text: 'GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n', thenClose: false },
    { text: `POST /v1/reach HTTP/1.1\r\nHost: probe\r\n${auth}Content-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!`, thenClose: false },
  ];
}

export async function drive(port: number, token: string | undefined, o: WarmUpOptions & { signal?: AbortSignal } = {}): Promise<number> {
  const total = o.connections ?? WARM_UP_DEFAULTS.connections;
  const budget = AbortSignal.timeout(o.budgetMs ?? WARM_UP_DEFAULTS.budgetMs);
  const stop = o.signal ? AbortSignal.any([o.signal, budget]) : budget;
  const mix = requests(token);
  let next = 0;
  let done = 0;
  // One abort listener for all open sockets (one per socket would pass Node's listener limit and print
  // a MaxListenersExceededWarning at every `probe serve` start).
  const open = new Set<Socket>();
  stop.addEventListener('abort', () => { for (const s of open) s.destroy(); }, { once: true });
  const one = (r: { text: string; thenClose: boolean }) => new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    open.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => { open.delete(s); if (!stop.aborted) done++; resolve(); });
    s.on('data', () => {});
    s.once('connect', () => { s.write(r.text); if (r.thenClose) s.destroy(); });
  });
  const worker = async () => {
    while (next < total && !stop.aborted) {
      const r = mix[next++ % mix.length];
      if (r) await one(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(total, o.concurrency ?? WARM_UP_DEFAULTS.concurrency) }, worker));
  return done;
}
