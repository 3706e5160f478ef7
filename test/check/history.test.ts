import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateHistory } from '../../src/check/io/history.js';

test('LAN history: recorded in the state file when configured, read back oldest first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-hist-'));
  try {
    const path = join(dir, 'state.json');
    const h = stateHistory(path, { write: true });
    await h.record({ address: '192.168.77.120', interface: 'l0', at: '2026-11-20T00:00:00.000Z' });
    await h.record({ address: '192.168.77.140', interface: 'l0', at: '2026-11-21T00:00:00.000Z' });
    const seen = await stateHistory(path, { write: false }).read();
    assert.deepEqual(seen.map((s) => s.address), ['192.168.77.120', '192.168.77.140']);
    assert.equal(seen[0]?.interface, 'l0');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('LAN history: `ddns check` with no configuration leaves no state file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-hist-'));
  try {
    const path = join(dir, 'state.json');
    await stateHistory(path, { write: false }).record({ address: '192.168.1.5', at: '2026-11-21T00:00:00.000Z' });
    assert.equal(existsSync(path), false);
    assert.deepEqual(await stateHistory(path, { write: false }).read(), []);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
