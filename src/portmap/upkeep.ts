/**
 * Keeping mappings alive: renew at half the lease (PCP: between ½ and ⅝), re-create everything when the
 * router lost its state (epoch reset, announcement, silence then answers, a mapping it no longer holds —
 * checked every `checkIntervalMs` where the protocol can tell), retry failures with a bounded backoff,
 * and optionally remove our mappings on stop.
 *
 * Contract: `planNext` is pure (clock and random passed in). `keepMappings` runs until its signal aborts,
 * never throws, never spins (every wait is a timer or an event), and reports what it did through
 * `onEvent` with stable event names. Each renewal is a full `map` call, so a mapping the router lost is
 * back within one renewal even if no epoch or announcement told us.
 */
import { epochLostState, listenAnnouncements, type Announcement, type ListenOptions, type ListenResult } from './natpmp.js';
import { renewAt as pcpRenewAt } from './pcp.js';
import type { Mapper } from './mapper.js';
import type { MapOutcome, Mapping, MappingRequest, Via } from './types.js';

export type KeepEvent =
  | { event: 'mapping.added' | 'mapping.renewed'; mapping: Mapping; renewInMs: number }
  | { event: 'mapping.failed'; request: MappingRequest; outcome: Exclude<MapOutcome, { kind: 'mapped' }>; retryInMs: number }
  | { event: 'mapping.removed'; mapping: Mapping; ok: boolean }
  | { event: 'router.reset'; why: string }
  | { event: 'mapping.gone'; mapping: Mapping }
  | { event: 'router.status-failed'; message: string }
  | { event: 'announcements.unavailable'; message: string }
  | { event: 'announcement'; announcement: Announcement };

export interface KeepOptions {
  signal: AbortSignal;
  onEvent?: (e: KeepEvent) => void;
  /** How often to ask the router for its epoch (ms); default 60 s. */
  checkIntervalMs?: number;
  /** First retry after a failure (ms), doubling to `maxRetryMs`; defaults 15 s and 10 min. */
  retryMs?: number;
  maxRetryMs?: number;
  removeOnStop?: boolean;
  /** Listen for NAT-PMP/PCP announcements on 224.0.0.1:5350 (default true). */
  announcements?: boolean;
  fixedExternal?: boolean;
  now?: () => number;
  /** Calls `fn` once after `ms` (the handle cancels it); default a global timer. With `now`, the whole clock is injected. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  random?: () => number;
  /** Re-mapping after an announcement waits a random 0..this ms (default 1000). */
  announceJitterMs?: number;
  /** Leases shorter than this are planned as this long (s); default 4. Tests use tiny leases. */
  minLeaseSeconds?: number;
  listen?: (o: ListenOptions) => Promise<ListenResult>;
}

/** When to renew a mapping granted at `grantedAt`. Pure. */
export function planNext(via: Via, grantedAt: number, granted: MapOutcome & { kind: 'mapped' }, wantedLeaseS: number, random: () => number, minLeaseS = 4): number {
  const lease = granted.permanent || granted.mapping.leaseSeconds <= 0 ? wantedLeaseS : granted.mapping.leaseSeconds;
  const leaseS = Math.max(lease, minLeaseS);
  if (via === 'pcp') return pcpRenewAt(grantedAt, leaseS, random);
  return grantedAt + (leaseS * 1000) / 2;
}

/** Did the router lose its state between two status answers? UPnP's epoch is its uptime. Pure. */
export function routerReset(via: Via, prev: { epoch: number; atMs: number }, next: { epoch: number; atMs: number }): boolean {
  if (via === 'upnp') return next.epoch < prev.epoch;
  return epochLostState(prev, next);
}

interface Slot { request: MappingRequest; due: number; failures: number; current?: Mapping; permanent: boolean }

export async function keepMappings(mapper: Mapper, requests: readonly MappingRequest[], o: KeepOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const setTimer = o.setTimer ?? ((fn: () => void, ms: number) => { const t = setTimeout(fn, ms); return { cancel: () => clearTimeout(t) }; });
  const random = o.random ?? Math.random;
  const emit = (e: KeepEvent): void => { try { o.onEvent?.(e); } catch { /* a logger's bug must not stop upkeep */ } };
  const checkEvery = o.checkIntervalMs ?? 60_000;
  const slots: Slot[] = requests.map((request) => ({ request, due: now(), failures: 0, permanent: false }));
  let nextCheck = now() + checkEvery;
  let lastEpoch: { epoch: number; atMs: number } | undefined;
  let lostContact = false;
  let wake: (() => void) | undefined;
  const poke = (): void => { const w = wake; wake = undefined; w?.(); };
  o.signal.addEventListener('abort', poke, { once: true });

  let stopListening: (() => void) | undefined;
  if (o.announcements !== false) {
    const l = await (o.listen ?? listenAnnouncements)({
      gateway: mapper.lan.gateway, interfaceAddress: mapper.lan.address,
      // RFC 6887 §14.1.1 / RFC 6886 §3.2.1: an announcement means the server restarted or its address
      // changed — send our requests again (after a short random delay, so a LAN full of clients spreads).
      onAnnouncement: (a) => {
        emit({ event: 'announcement', announcement: a });
        const at = now() + random() * (o.announceJitterMs ?? 1000);
        for (const s of slots) s.due = Math.min(s.due, at);
        nextCheck = now();
        poke();
      },
    });
    if (l.ok) stopListening = l.close;
    else emit({ event: 'announcements.unavailable', message: l.why });
  }

  const mapOne = async (s: Slot, renewal: boolean): Promise<void> => {
    const out = await mapper.map(s.request, { signal: o.signal, ...(o.fixedExternal ? { fixedExternal: true } : {}) });
    if (o.signal.aborted) return;
    const t = now();
    if (out.kind === 'mapped') {
      s.failures = 0;
      s.current = out.mapping;
      s.permanent = out.permanent;
      s.due = planNext(mapper.via, t, out, s.request.leaseSeconds, random, o.minLeaseSeconds);
      emit({ event: renewal ? 'mapping.renewed' : 'mapping.added', mapping: out.mapping, renewInMs: Math.round(s.due - t) });
    } else {
      const retry = Math.min((o.retryMs ?? 15_000) * 2 ** s.failures, o.maxRetryMs ?? 600_000);
      s.failures++;
      s.due = t + retry;
      emit({ event: 'mapping.failed', request: s.request, outcome: out, retryInMs: retry });
    }
  };

  try {
    while (!o.signal.aborted) {
      const t = now();
      if (t >= nextCheck) {
        nextCheck = t + checkEvery;
        const st = await mapper.status({ signal: o.signal });
        if (o.signal.aborted) break;
        if (st.ok) {
          const sample = st.epoch !== undefined ? { epoch: st.epoch, atMs: now() } : undefined;
          const why = lostContact ? 'the router answers again after a silence (it may have restarted)'
            : sample && lastEpoch && routerReset(mapper.via, lastEpoch, sample) ? `epoch went from ${lastEpoch.epoch} to ${sample.epoch}` : undefined;
          if (why) {
            emit({ event: 'router.reset', why });
            for (const s of slots) s.due = now();
          }
          lostContact = false;
          if (sample) lastEpoch = sample;
        } else {
          emit({ event: 'router.status-failed', message: st.why });
          if (st.kind === 'failed') lostContact = true;
        }
        // A mapping the router dropped (reboot with a steady clock, a user's delete) comes back now.
        if (mapper.holds) {
          for (const s of slots) {
            if (!s.current || s.due <= now() || o.signal.aborted) continue;
            if ((await mapper.holds(s.current, { signal: o.signal })) === false) {
              emit({ event: 'mapping.gone', mapping: s.current });
              s.due = now();
            }
          }
        }
      }
      for (const s of slots) {
        if (o.signal.aborted) break;
        if (now() >= s.due) await mapOne(s, s.current !== undefined);
      }
      const soonest = Math.min(nextCheck, ...slots.map((s) => s.due));
      const waitMs = Math.max(10, soonest - now());
      await new Promise<void>((resolve) => {
        const timer = setTimer(() => { wake = undefined; resolve(); }, waitMs);
        wake = () => { timer.cancel(); resolve(); };
        if (o.signal.aborted) { timer.cancel(); wake = undefined; resolve(); }
      });
    }
  } finally {
    stopListening?.();
    o.signal.removeEventListener('abort', poke);
  }
  if (o.removeOnStop) {
    const bounded = AbortSignal.timeout(5000);
    for (const s of slots) {
      if (!s.current) continue;
      const r = await mapper.unmap({ protocol: s.current.protocol, externalPort: s.current.externalPort, internalPort: s.current.internalPort }, { signal: bounded });
      emit({ event: 'mapping.removed', mapping: s.current, ok: r.kind === 'removed' || r.kind === 'not-found' });
    }
  }
}
