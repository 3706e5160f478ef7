/** The check's publicip facts: a detection the caller holds (the daemon's) is used instead of asking the sources again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { observePublicIp } from '../../src/check/io/publicip.js';
import { configSchema } from '../../src/config/schema.js';
import type { FamilyResult } from '../../src/publicip/detect.js';

test('observePublicIp asks no source for a family the held detection has an address for, and asks for the others', async () => {
  let asked = 0;
  const server = createServer((_req, res) => { asked++; res.end('44.0.0.9\n'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const config = configSchema.parse({ ip: { quorum: 1, families: [4], sources: [{ type: 'http', url, operator: 'a' }] } });
    const held: FamilyResult = {
      family: 4, address: '44.0.0.2', agreeing: ['http:x'], operators: ['x'], quorum: 2, verdict: 'agreed', message: '44.0.0.2 confirmed by http:x',
      sources: [{ id: 'http:x', type: 'http', operator: 'x', vantage: 'outside', status: 'agreed', address: '44.0.0.2', error: null, ms: 3 }], ms: 3,
    };
    const signal = new AbortController().signal;
    const fromHeld = await observePublicIp(config, [4], { signal, known: { 4: held } });
    assert.equal(fromHeld[4]?.address, '44.0.0.2');
    assert.equal(asked, 0, 'the held detection answers; no source is asked');

    const noAddress = await observePublicIp(config, [4], { signal, known: { 4: { ...held, address: null, verdict: 'no-quorum' } } });
    assert.equal(noAddress[4]?.address, '44.0.0.9', 'a held family without an address is asked afresh');
    assert.equal(asked, 1);

    const none = await observePublicIp(config, [4], { signal });
    assert.equal(none[4]?.address, '44.0.0.9');
    assert.equal(asked, 2);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
