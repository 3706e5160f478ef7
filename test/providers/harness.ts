/**
 * The set-up the provider tests share. `zoneApiHarness` (call it inside `describe`, after configuring the
 * service: it starts in `before`) serves a zone-API fixture over loopback HTTPS for the block, empties its
 * RecordStore and seeds it before each test. `capturedContext` is a provider context whose debug log lands
 * in `lines` (to assert that no secret is logged); `item` builds an UpdateItem keyed by the record's name.
 */
import { after, before, beforeEach } from 'node:test';
import type { Addresses, ProviderContext, UpdateItem } from '../../providers/provider.js';
import type { RecordConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import type { RecordStore } from '../fixtures/records.js';
import type { HttpService } from '../fixtures/types.js';

export function capturedContext(lines: string[]): ProviderContext {
  return { signal: AbortSignal.timeout(10_000), log: createLogger({ level: 'debug', destination: { write: (s: string) => lines.push(s) } }), timeoutMs: 5000 };
}

export const item = <R extends RecordConfig & { name: string }>(record: R, send: Addresses): UpdateItem<R> => ({ key: record.name, record, send });

export interface ZoneApiHarness {
  /** The running fixture (inside tests only). */
  readonly fx: HttpsFixture;
  /** Every log line the provider wrote through `ctx()`. */
  readonly lines: string[];
  ctx(): ProviderContext;
}

export function zoneApiHarness(service: HttpService, store: RecordStore, seed: (store: RecordStore) => void): ZoneApiHarness {
  let fx: HttpsFixture | undefined;
  const lines: string[] = [];
  before(async () => { fx = await startHttpsService(service); });
  after(async () => { await fx?.close(); });
  beforeEach(() => {
    for (const r of store.list()) store.delete(r.id);
    seed(store);
  });
  return {
    get fx() {
      if (fx === undefined) throw new Error('the fixture starts in before()');
      return fx;
    },
    lines,
    ctx: () => capturedContext(lines),
  };
}
