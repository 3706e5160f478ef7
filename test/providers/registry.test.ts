import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAnyProvider, loadProvider, PROVIDER_NAMES } from '../../providers/registry.js';
import type { RecordConfig } from '../../src/config/schema.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';

const record = (r: unknown): RecordConfig => {
  const parsed = configSchema.parse({ records: [r] }).records[0];
  assert.ok(parsed);
  return parsed;
};
const duck = record({ provider: 'duckdns', domains: ['myhome'], token: 'a7c4f1e2-duck-token-5b9d' });
const noip = record({ provider: 'noip', hostname: 'home.ddns.net', username: 'alice', password: 'noip-secret-1' });
const ctx = { signal: new AbortController().signal, log: createLogger({ level: 'error' }), timeoutMs: 1000 };

describe('provider registry', () => {
  test('every name loads the provider of that name', async () => {
    assert.ok(PROVIDER_NAMES.length >= 15);
    for (const name of PROVIDER_NAMES) assert.equal((await loadProvider(name)).name, name);
  });

  test('the widened provider answers for its own records', async () => {
    const p = await loadAnyProvider('duckdns');
    assert.deepEqual(p.names(duck), ['myhome.duckdns.org']);
  });

  test('a record of another kind is refused with both names, before any request', async () => {
    const p = await loadAnyProvider('duckdns');
    assert.throws(() => p.names(noip), /a noip record was handed to the duckdns provider/);
    await assert.rejects(p.update([{ key: 'k', record: noip, send: { 4: '44.0.0.2' } }], ctx), /a noip record was handed to the duckdns provider/);
    const cf = await loadAnyProvider('cloudflare');
    await assert.rejects(async () => cf.readLive?.(noip, [4], ctx), /a noip record was handed to the cloudflare provider/);
  });
});
