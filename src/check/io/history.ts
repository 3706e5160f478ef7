/**
 * The LAN-address history in the state file (src/state/store.ts): without `lan.expectAddress`, an
 * address that changed between runs means the lease is not static. Written only when a configuration
 * file was loaded or the state file already exists — `ddns check` with no config leaves no file behind.
 * Never throws: an unreadable state is an empty history.
 */
import { existsSync } from 'node:fs';
import type { CheckDeps, LanSighting } from '../deps.js';
import type { StateStore } from '../../state/store.js';

/** `store`: the running daemon's own (serialized) store, so the check's write never races the daemon's. */
export function stateHistory(path: string, o: { write: boolean; store?: StateStore }): CheckDeps['lanHistory'] {
  const store = import('../../state/store.js').then((m) => ({ m, s: o.store ?? m.openStateStore(path) }));
  return {
    async read(): Promise<LanSighting[]> {
      try {
        const { s } = await store;
        const { state } = await s.load();
        return state.lan.history.map((h) => ({ address: h.address, at: h.lastSeen, ...(h.interface !== undefined ? { interface: h.interface } : {}) }));
      } catch {
        return [];
      }
    },
    async record(x: LanSighting): Promise<void> {
      if (!o.write && !existsSync(path)) return;
      try {
        const { m, s } = await store;
        await s.update((state) => m.noteLanAddress(state, x.address, new Date(x.at), x.interface));
      } catch {
        // The check still reports; the history just does not grow this run.
      }
    },
  };
}
