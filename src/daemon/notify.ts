/**
 * Notifications from the daemon to the outside: a generic webhook (JSON POST), healthchecks.io-style
 * ping URLs (success ping, `/fail` on trouble) and Uptime Kuma push URLs (`?status=up|down&msg=…&ping=…`).
 *
 * What goes where:
 * - `webhook` gets events: `change` (a record now points at a new address), `hold` (a provider refused
 *   for good; the user must act), `failure` (the daemon became unready), `recovery` (ready again), `path`
 *   (a step of the daemon's own path check changed its verdict, e.g. reach pass → fail, with the advice).
 * - `healthchecks` and `uptimekuma` are dead-man's switches: they get a heartbeat after every cycle (up
 *   or down with the reason), so silence itself alerts. With `events` set they get only those events
 *   instead (change/recovery as up, hold/failure as down, path as up when the step now passes).
 *
 * Contract: `event` and `heartbeat` return at once and never throw — delivery runs in the background, one
 * request at a time per target, each bounded by `timeoutMs`, with a bounded queue (the oldest is dropped).
 * A notification can never block or slow the loop. The URLs are secrets: logs name a target as
 * `notify[i] TYPE HOST`, never the path or query.
 */
import type { NotifyConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { describeError, withTimeout } from '../net/abort.js';
import { PUSH_TYPES, type PushType, pushRequest, TELEGRAM_API } from './push.js';

const isPush = (t: NotifyConfig): t is NotifyConfig & { type: PushType } => (PUSH_TYPES as readonly string[]).includes(t.type);

export type NotifyEventKind = 'change' | 'hold' | 'recovery' | 'failure' | 'path';

export interface Notification {
  event: NotifyEventKind;
  /** One line for people. */
  message: string;
  /** ms since epoch. */
  at: number;
  /** Extra fields for the webhook's JSON (no secrets). */
  data?: Record<string, unknown>;
  /** For `path`: the step passes now (a heartbeat monitor shows up), or not (down). */
  ok?: boolean;
}

export interface Heartbeat {
  ok: boolean;
  message: string;
  /** Cycle duration, ms. */
  ms: number;
}

export interface OutgoingRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export type SendResult = { ok: true; status: number } | { ok: false; why: string };
export type Sender = (req: OutgoingRequest, signal: AbortSignal) => Promise<SendResult>;

export interface NotifierOptions {
  log: Logger;
  /** Per request; default 5 s. */
  timeoutMs?: number;
  /** Per target; default 20. */
  maxQueue?: number;
  send?: Sender;
}

/** The request one target receives for an event or a heartbeat; undefined when it does not want it. Pure. */
export function requestFor(target: NotifyConfig, what: { event: Notification } | { heartbeat: Heartbeat }): OutgoingRequest | undefined {
  if (isPush(target)) {
    if (!('event' in what) || (target.events && !target.events.includes(what.event.event))) return undefined;
    return pushRequest(target, what.event);
  }
  if (!target.url) return undefined;
  const url = new URL(target.url);
  if (target.type === 'webhook') {
    if (!('event' in what)) return undefined;
    const e = what.event;
    if (target.events && !target.events.includes(e.event)) return undefined;
    const body = JSON.stringify({ source: 'ddns', event: e.event, message: e.message, at: new Date(e.at).toISOString(), ...e.data });
    return { method: 'POST', url, headers: { 'content-type': 'application/json' }, body };
  }
  // Heartbeat monitors: every cycle, or only the chosen events.
  let up: boolean;
  let message: string;
  let ms: number | undefined;
  if ('event' in what) {
    if (!target.events || !target.events.includes(what.event.event)) return undefined;
    up = what.event.event === 'path' ? what.event.ok === true : what.event.event === 'change' || what.event.event === 'recovery';
    message = what.event.message;
  } else {
    if (target.events) return undefined;
    up = what.heartbeat.ok;
    message = what.heartbeat.message;
    ms = what.heartbeat.ms;
  }
  if (target.type === 'healthchecks') {
    if (!up) url.pathname = `${url.pathname.replace(/\/+$/, '')}/fail`;
    return { method: 'POST', url, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message.slice(0, 10_000) };
  }
  url.searchParams.set('status', up ? 'up' : 'down');
  url.searchParams.set('msg', message.slice(0, 250));
  url.searchParams.set('ping', ms === undefined ? '' : String(Math.round(ms)));
  return { method: 'GET', url, headers: {} };
}

/** A target's name for logs: its index, type and host — never the secret path or query. */
export function targetLabel(target: NotifyConfig, index: number): string {
  let host = '?';
  try { host = new URL(target.type === 'telegram' ? target.apiUrl ?? TELEGRAM_API : target.url ?? '').host; } catch { /* the schema validated it */ }
  return `notify[${index}] ${target.type} ${host}`;
}

const httpSend: Sender = async (req, signal) => {
  try {
    // No redirects are followed (src/net/http-client.ts): a redirect is an answer, the URL's secret goes nowhere else.
    const { exchange } = await import('../net/http-client.js');
    const res = await exchange(req.url, { method: req.method, headers: { 'user-agent': 'ddns', ...req.headers }, ...(req.body !== undefined ? { body: req.body } : {}), signal, maxBytes: 0, readBody: () => false });
    // readBody false: the status is the answer, the body is never read.
    return res.ok ? { ok: true, status: res.status } : { ok: false, why: 'no status' };
  } catch (err) {
    return { ok: false, why: describeError(err) };
  }
};

interface Lane { target: NotifyConfig; label: string; queue: OutgoingRequest[]; busy: Promise<void> | undefined }

export class Notifier {
  private readonly lanes: Lane[];
  private readonly send: Sender;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly stop = new AbortController();

  constructor(targets: readonly NotifyConfig[], private readonly o: NotifierOptions) {
    this.lanes = targets.map((target, i) => ({ target, label: targetLabel(target, i), queue: [], busy: undefined }));
    this.send = o.send ?? httpSend;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.maxQueue = o.maxQueue ?? 20;
  }

  get size(): number {
    return this.lanes.length;
  }

  event(e: Notification): void {
    this.enqueue({ event: e });
  }

  heartbeat(h: Heartbeat): void {
    this.enqueue({ heartbeat: h });
  }

  /** Waits up to `ms` for queued deliveries (shutdown), then aborts the rest. */
  async flush(ms: number): Promise<void> {
    const all = Promise.all(this.lanes.map((l) => l.busy ?? Promise.resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => { timer = setTimeout(r, ms); timer.unref(); })]);
    clearTimeout(timer);
    this.stop.abort();
  }

  private enqueue(what: { event: Notification } | { heartbeat: Heartbeat }): void {
    if (this.stop.signal.aborted) return;
    for (const lane of this.lanes) {
      let req: OutgoingRequest | undefined;
      try { req = requestFor(lane.target, what); } catch { req = undefined; }
      if (!req) continue;
      lane.queue.push(req);
      if (lane.queue.length > this.maxQueue) {
        lane.queue.shift();
        this.o.log.warn({ event: 'notify.dropped', target: lane.label }, 'notification queue full; dropped the oldest');
      }
      if (!lane.busy) lane.busy = this.drain(lane).finally(() => { lane.busy = undefined; });
    }
  }

  private async drain(lane: Lane): Promise<void> {
    for (let req = lane.queue.shift(); req; req = lane.queue.shift()) {
      if (this.stop.signal.aborted) return;
      const started = performance.now();
      let r: SendResult;
      try {
        r = await this.send(req, withTimeout(this.timeoutMs, this.stop.signal));
      } catch (err) {
        r = { ok: false, why: describeError(err) };
      }
      const ms = Math.round(performance.now() - started);
      if (r.ok && r.status < 400) this.o.log.debug({ event: 'notify.sent', target: lane.label, status: r.status, ms });
      else this.o.log.warn({ event: 'notify.failed', target: lane.label, ms, why: r.ok ? `HTTP ${r.status}` : r.why });
    }
  }
}
