/**
 * GENA subscriptions against a loopback "router" that speaks the eventing protocol as miniupnpd does
 * (SUBSCRIBE → SID + TIMEOUT, NOTIFY with a propertyset to the CALLBACK, renewal by SID, UNSUBSCRIBE).
 * Renewal runs on a ManualClock; deliveries are awaited as events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { parsePropertySet, parseSubscribeAnswer, subscribeGena, type EventedVars } from '../../src/portmap/upnp/gena.js';
import { ManualClock } from '../../src/state/clock.js';

const body = (vars: Record<string, string>) =>
  `<?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">${Object.entries(vars).map(([k, v]) => `<e:property><${k}>${v}</${k}></e:property>`).join('')}</e:propertyset>`;

interface Sub { callback: URL; sid: string; seq: number }

/** A router's event endpoint: remembers subscribers, answers as told, sends NOTIFYs on demand. */
async function fakeRouter(o: { refuseRenewal?: boolean } = {}) {
  const subs = new Map<string, Sub>();
  const log: string[] = [];
  let n = 0;
  const srv = createServer((req: IncomingMessage, res) => {
    req.resume();
    const sid = String(req.headers.sid ?? '');
    log.push(`${req.method} ${sid ? 'sid' : 'new'}`);
    if (req.method === 'SUBSCRIBE' && !sid) {
      const cb = /^<([^>]+)>$/.exec(String(req.headers.callback ?? ''))?.[1];
      if (!cb || req.headers.nt !== 'upnp:event') { res.writeHead(400).end(); return; }
      const s = { callback: new URL(cb), sid: `uuid:fake-${++n}`, seq: 0 };
      subs.set(s.sid, s);
      res.writeHead(200, { SID: s.sid, TIMEOUT: 'Second-120', 'content-length': '0' }).end();
      return;
    }
    if (req.method === 'SUBSCRIBE' && sid) {
      if (o.refuseRenewal || !subs.has(sid)) { res.writeHead(412).end(); return; }
      res.writeHead(200, { SID: sid, TIMEOUT: 'Second-120', 'content-length': '0' }).end();
      return;
    }
    if (req.method === 'UNSUBSCRIBE') { subs.delete(sid); res.writeHead(200, { 'content-length': '0' }).end(); return; }
    res.writeHead(405).end();
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  /** Sends a NOTIFY to every subscriber (or to `to` with `sid`), resolving with the HTTP status. */
  const notify = (text: string, to?: { url: URL; sid: string }): Promise<number[]> => Promise.all((to ? [{ callback: to.url, sid: to.sid, seq: 0 }] : [...subs.values()]).map((s) => new Promise<number>((resolve) => {
    const req = request(s.callback, { method: 'NOTIFY', headers: { nt: 'upnp:event', nts: 'upnp:propchange', sid: s.sid, seq: String(s.seq++), 'content-type': 'text/xml' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.end(text);
  })));
  return { url: new URL(`http://127.0.0.1:${port}/evt/IPConn`), subs, log, notify, forget: () => subs.clear(), close: () => { srv.closeAllConnections(); srv.close(); } };
}

function collector() {
  const got: EventedVars[] = [];
  let wake: (() => void) | undefined;
  return {
    got,
    onEvent: (v: EventedVars) => { got.push(v); wake?.(); },
    next: () => new Promise<void>((r) => { wake = r; }),
  };
}

test('parsePropertySet reads evented variables and cleans their text; it refuses DOCTYPEs', () => {
  const r = parsePropertySet(body({ ExternalIPAddress: '44.0.0.9', ConnectionStatus: 'Conn\u001b[31mected\u202e' }));
  assert.ok(r.ok);
  assert.equal(r.vars.get('ExternalIPAddress'), '44.0.0.9');
  assert.equal(r.vars.get('ConnectionStatus'), 'Conn[31mected');
  const bomb = parsePropertySet('<!DOCTYPE x [<!ENTITY a "aaaa">]><e:propertyset><e:property><X>&a;</X></e:property></e:propertyset>');
  assert.deepEqual(bomb, { ok: false, why: 'document contains a DOCTYPE or ENTITY declaration' });
  assert.deepEqual(parsePropertySet('<root/>'), { ok: false, why: 'no <propertyset> element' });
  const many = parsePropertySet(body(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`V${i}`, 'x']))));
  assert.ok(many.ok);
  assert.equal(many.vars.size, 32);
});

test('parseSubscribeAnswer wants a uuid SID and reads the timeout', () => {
  assert.deepEqual(parseSubscribeAnswer({ sid: 'uuid:abc', timeout: 'Second-1800' }), { ok: true, sid: 'uuid:abc', timeoutS: 1800 });
  assert.deepEqual(parseSubscribeAnswer({ sid: 'uuid:abc', timeout: 'Second-5' }), { ok: true, sid: 'uuid:abc', timeoutS: 30 });
  assert.deepEqual(parseSubscribeAnswer({ sid: 'uuid:abc' }), { ok: true, sid: 'uuid:abc', timeoutS: 300 });
  assert.deepEqual(parseSubscribeAnswer({ timeout: 'Second-1800' }), { ok: false, why: 'no SID in the answer' });
  assert.deepEqual(parseSubscribeAnswer({ sid: 'abc\u001b' }), { ok: false, why: 'bad SID "abc"' });
});

test('a subscription delivers the router\'s NOTIFY; a wrong SID, a wrong path and an oversized body are refused', async () => {
  const router = await fakeRouter();
  const c = collector();
  const r = await subscribeGena({ eventSubUrl: router.url, localAddress: '127.0.0.1', onEvent: c.onEvent });
  assert.ok(r.ok, r.ok ? '' : r.why);
  try {
    assert.match(r.sub.callback, /^http:\/\/127\.0\.0\.1:\d+\/ddns-gena\/[0-9a-f]{24}$/);
    assert.equal(r.sub.sid, 'uuid:fake-1');
    const next = c.next();
    assert.deepEqual(await router.notify(body({ ExternalIPAddress: '44.0.0.123' })), [200]);
    await next;
    assert.equal(c.got[0]?.get('ExternalIPAddress'), '44.0.0.123');
    const url = new URL(r.sub.callback);
    assert.deepEqual(await router.notify(body({ ExternalIPAddress: '6.6.6.6' }), { url, sid: 'uuid:someone-else' }), [412]);
    assert.deepEqual(await router.notify(body({ ExternalIPAddress: '6.6.6.6' }), { url: new URL('/ddns-gena/guess', url), sid: r.sub.sid }), [404]);
    assert.deepEqual(await router.notify(body({ Big: 'x'.repeat(20_000) })), [413]);
    assert.equal(c.got.length, 1, 'nothing refused reached the caller');
  } finally {
    await r.sub.close();
    router.close();
  }
  assert.deepEqual(router.log, ['SUBSCRIBE new', 'UNSUBSCRIBE sid']);
  assert.equal(router.subs.size, 0);
});

test('renewal at half the granted timeout keeps the SID; a router that forgot it gets a fresh SUBSCRIBE', async () => {
  const router = await fakeRouter();
  const clock = new ManualClock();
  const states: string[] = [];
  let renewed: () => void = () => undefined;
  const r = await subscribeGena({ eventSubUrl: router.url, localAddress: '127.0.0.1', onEvent: () => undefined, onState: (up, d) => { states.push(`${up} ${d}`); renewed(); }, clock });
  assert.ok(r.ok);
  try {
    assert.equal(r.sub.timeoutS, 120);
    const logged = (n: number) => new Promise<void>((resolve) => { const t = setInterval(() => { if (router.log.length >= n) { clearInterval(t); resolve(); } }, 5); });
    await clock.advance(59_999);
    assert.deepEqual(router.log, ['SUBSCRIBE new'], 'not before half the timeout');
    await clock.advance(1);
    await logged(2);
    assert.deepEqual(router.log, ['SUBSCRIBE new', 'SUBSCRIBE sid']);
    assert.equal(r.sub.sid, 'uuid:fake-1');
    router.forget(); // the router rebooted
    const up = new Promise<void>((resolve) => { renewed = resolve; });
    await clock.advance(60_000);
    await up;
    assert.deepEqual(router.log, ['SUBSCRIBE new', 'SUBSCRIBE sid', 'SUBSCRIBE sid', 'SUBSCRIBE new']);
    assert.equal(r.sub.sid, 'uuid:fake-2');
    assert.deepEqual(states, ['true subscribed (SID uuid:fake-2, 120 s)']);
  } finally {
    await r.sub.close();
    router.close();
  }
});

test('a refused SUBSCRIBE is an error value naming the URL, and nothing stays listening', async () => {
  const srv = createServer((req, res) => { req.resume(); res.writeHead(501).end(); });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const url = new URL(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/evt/IPConn`);
  const r = await subscribeGena({ eventSubUrl: url, localAddress: '127.0.0.1', onEvent: () => undefined });
  srv.close();
  assert.deepEqual(r, { ok: false, why: 'SUBSCRIBE /evt/IPConn refused: HTTP 501' });
});
