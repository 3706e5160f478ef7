import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneShotStatus, writeCheckHtml } from '../../src/cli/check-html.js';
import { configSchema } from '../../src/config/schema.js';
import { recordKey } from '../../src/update/records.js';
import { healthyDoc } from '../daemon/status-fixture.js';

const TOKEN = 'duck-token-9a8b7c6d5e4f';

test('check --html: the one-shot report as the status page — the path, records with their published address, forwards untracked, no secret, no script', async () => {
  const config = configSchema.parse({
    state: '/nonexistent/state.json',
    records: [{ provider: 'duckdns', domains: ['labhome'], token: TOKEN }],
    forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp', description: 'ssh' }],
  });
  const report = healthyDoc().check!;
  const key = recordKey(config.records[0]!);
  const at = new Date('2026-11-29T23:50:00Z');
  const change = { at: '2026-11-29T20:00:00.000Z', family: 4 as const, from: '44.0.0.1', to: '44.0.0.2' };
  const doc = oneShotStatus(config, report, at, { [key]: { published: { '4': { address: '44.0.0.2', at: change.at } }, history: [change] } });
  assert.deepEqual(doc.records, [{ provider: 'duckdns', name: 'labhome.duckdns.org', addresses: { '4': { address: '44.0.0.2', since: '2026-11-29T20:00:00.000Z' } }, history: [change] }]);
  assert.equal(doc.forwards[0]?.mapping, undefined);
  assert.equal(doc.check?.at, at.toISOString());
  const dir = mkdtempSync(join(tmpdir(), 'ddns-html-'));
  try {
    const file = join(dir, 'out', 'path.html');
    await writeCheckHtml(file, doc, at);
    const html = readFileSync(file, 'utf8');
    assert.ok(statSync(file).isFile());
    assert.match(html, /data-hop="outside" data-tone="pass"/);
    assert.match(html, /labhome\.duckdns\.org/);
    assert.match(html, /<summary>1 change<\/summary><ol><li><time[^>]*>[^<]*<\/time>: IPv4 44\.0\.0\.1 → 44\.0\.0\.2<\/li>/, 'the history from the state file');
    assert.match(html, /a one-shot check does not hold mappings/);
    assert.ok(!html.includes(TOKEN), 'the token is not in the page');
    assert.ok(!/<script/.test(html));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
