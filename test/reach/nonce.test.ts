import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { openNonceListener } from '../../src/reach/nonce.js';

const NONCE = 'fedcba9876543210fedcba9876543210';

test('nonce listener: a port a service holds is reported busy (compare banners instead)', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', () => r()));
  const port = (s.address() as { port: number }).port;
  try {
    const l = await openNonceListener('tcp', port, NONCE);
    assert.equal(l.ok, false);
    assert.equal(!l.ok && l.busy, true);
  } finally { await new Promise<void>((r) => s.close(() => r())); }
});

test('nonce listener: the right line is acknowledged and counted; a wrong one is dropped and not counted', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const l = await openNonceListener('tcp', port, NONCE);
  assert.ok(l.ok);
  try {
    const talk = (line: string) => new Promise<string>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => { got += d; });
      c.on('close', () => resolve(got));
      c.on('error', () => resolve(got));
      c.write(line);
    });
    assert.equal(await talk('DDNS-NONCE 00000000000000000000000000000000\r\n'), '');
    assert.equal(l.arrivals.length, 0);
    assert.equal(await talk(`DDNS-NONCE ${NONCE}\r\n`), `DDNS-ACK ${NONCE}\r\n`);
    assert.equal(l.arrivals.length, 1);
    assert.equal(l.arrivals[0]?.from, '127.0.0.1');
    assert.ok(await l.waitFor(10));
  } finally { await l.close(); }
});

test('nonce listener (UDP): echoes only the nonce datagram; a held UDP port is busy', async () => {
  const held = createSocket('udp4');
  await new Promise<void>((r) => held.bind(0, '0.0.0.0', () => r()));
  const heldPort = held.address().port;
  const busy = await openNonceListener('udp', heldPort, NONCE);
  assert.equal(busy.ok, false);
  await new Promise<void>((r) => held.close(() => r()));

  const l = await openNonceListener('udp', heldPort, NONCE);
  assert.ok(l.ok);
  const client = createSocket('udp4');
  try {
    const reply = new Promise<string>((resolve) => client.once('message', (m) => resolve(m.toString())));
    client.send(Buffer.from('junk'), heldPort, '127.0.0.1');
    client.send(Buffer.from(`DDNS-NONCE ${NONCE}`), heldPort, '127.0.0.1');
    assert.equal(await reply, `DDNS-NONCE ${NONCE}`);
    assert.equal(l.arrivals.length, 1);
  } finally { client.close(); await l.close(); }
});
