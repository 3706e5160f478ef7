/**
 * A zone-API provider (Porkbun) through the update engine: the record key, config hash and state are the
 * generic ones; when the API already holds the address the provider's own read keeps it from writing;
 * a held answer stays held without new requests until the configuration changes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { runUpdate } from '../../src/update/pass.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { PorkbunService } from '../fixtures/porkbun.js';
import { RecordStore } from '../fixtures/records.js';

const V4 = '44.0.0.2';

describe('a zone API through ddns update', () => {
  let fx: HttpsFixture;
  let dir: string;
  const store = new RecordStore();
  const svc = new PorkbunService(store);
  before(async () => {
    svc.keys.set('pk1_engine', 'sk1_engine');
    svc.domains.set('example.com', true);
    fx = await startHttpsService(svc);
    dir = mkdtempSync(join(tmpdir(), 'ddns-zone-api-'));
  });
  after(async () => { await fx.close(); rmSync(dir, { recursive: true, force: true }); });

  const config = (secret: string) => configSchema.parse({
    ip: { families: [4] }, state: join(dir, 'state.json'),
    records: [{ provider: 'porkbun', zone: 'example.com', name: 'home.example.com', apiKey: 'pk1_engine', secretApiKey: secret, baseUrl: `${fx.url}/api/json/v3` }],
  });
  const log = createLogger({ level: 'silent' });

  test('the API already holds the address: read, no write, reported unchanged and remembered', async () => {
    store.set({ name: 'home.example.com', type: 'A', content: V4, ttl: 600 });
    const since = fx.log.count;
    const r = await runUpdate({ config: config('sk1_engine'), log }, { ips: [V4], live: false });
    assert.equal(r.records[0]?.status, 'unchanged', JSON.stringify(r.records[0]));
    assert.deepEqual(fx.log.list({ since }).map((e) => e.path), ['/api/json/v3/dns/retrieveByNameType/example.com/A/home']);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { records: Record<string, unknown> };
    assert.ok('porkbun:example.com:home.example.com' in state.records, Object.keys(state.records).join());
    assert.ok(!readFileSync(join(dir, 'state.json'), 'utf8').includes('sk1_engine'));
  });

  test('refused keys are held: the next run sends nothing until the secret changes', async () => {
    const bad = config('sk1_wrong');
    const first = await runUpdate({ config: bad, log }, { ips: ['44.0.0.3'], live: false });
    assert.equal(first.records[0]?.status, 'held');
    const since = fx.log.count;
    const again = await runUpdate({ config: bad, log }, { ips: ['44.0.0.3'], live: false });
    assert.equal(again.records[0]?.status, 'held');
    assert.equal(fx.log.count, since);
    const fixed = await runUpdate({ config: config('sk1_engine'), log }, { ips: ['44.0.0.3'], live: false });
    assert.equal(fixed.records[0]?.status, 'updated');
    assert.deepEqual(store.values('home.example.com', 'A'), ['44.0.0.3']);
  });
});
