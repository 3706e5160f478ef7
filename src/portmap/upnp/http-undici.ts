/** The undici transport of http.ts (`request()`: no redirects). See http.ts for the contract. */
import type { Dispatcher } from 'undici';
import { readCapped } from '../../net/body.js';
import { tooLargeWhy, type ExchangeResult, type HttpOptions } from './http.js';

let agents = new Map<string, Dispatcher>();
let load: Promise<typeof import('undici')> | undefined;

export function preloadUndici(): Promise<typeof import('undici')> {
  load ??= import('undici');
  return load;
}

async function agentFor(connectTimeoutMs: number, localAddress?: string): Promise<Dispatcher> {
  const key = `${connectTimeoutMs}/${localAddress ?? ''}`;
  const have = agents.get(key);
  if (have) return have;
  const { Agent } = await preloadUndici();
  const agent = new Agent({ connectTimeout: connectTimeoutMs, pipelining: 0, keepAliveTimeout: 1, ...(localAddress ? { localAddress } : {}) });
  agents.set(key, agent);
  return agent;
}

export async function closeUndici(): Promise<void> {
  const old = agents;
  agents = new Map();
  await Promise.allSettled([...old.values()].map((a) => a.close()));
}

/** Throws on transport errors (http.ts turns them into values). */
export async function undiciExchange(url: URL, opts: HttpOptions & { headers: Record<string, string> }, signal: AbortSignal): Promise<ExchangeResult> {
  const { request } = await preloadUndici();
  const res = await request(url, {
    method: opts.method, headers: opts.headers, body: opts.body, signal,
    dispatcher: await agentFor(opts.connectTimeoutMs ?? 3000, opts.localAddress),
    headersTimeout: opts.timeoutMs ?? 8000, bodyTimeout: opts.timeoutMs ?? 8000,
  });
  const body = await readCapped(res.body, opts.maxBytes, res.headers['content-length']);
  if (!body.ok) {
    return { ok: false, kind: 'too-large', why: tooLargeWhy(body, opts.maxBytes) };
  }
  return { ok: true, status: res.statusCode, body: body.text };
}
