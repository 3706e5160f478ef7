import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Notifier, requestFor, targetLabel } from '../../src/daemon/notify.js';
import { createLogger } from '../../src/log.js';
import type { NotifyConfig } from '../../src/config/schema.js';

interface Seen { method: string; url: string; type: string; body: string }

/** A loopback server that records requests; `delayMs` holds each answer back (`null`: never answers). */
async function sink(delayMs: number | null = 0) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: String(req.headers['content-type'] ?? ''), body });
      if (delayMs !== null) setTimeout(() => { res.writeHead(200); res.end('OK'); }, delayMs).unref();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { seen, base, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } });
  return { lines, log: createLogger({ level: 'debug', destination }) };
}

const at = Date.UTC(2026, 10, 22, 5, 0, 0);

test('a webhook gets a JSON POST for each event with the message and data', async () => {
  const s = await sink();
  const { log } = capture();
  const n = new Notifier([{ type: 'webhook', url: `${s.base}/hook/s3cr3t` }], { log });
  n.event({ event: 'change', message: 'myhome.duckdns.org → 198.51.100.9', at, data: { family: 4, address: '198.51.100.9' } });
  n.heartbeat({ ok: true, message: 'ok', ms: 10 });
  await n.flush(600_000); // returns when the deliveries end
  await s.close();
  assert.equal(s.seen.length, 1, 'a webhook takes events only, not heartbeats');
  assert.equal(s.seen[0]?.method, 'POST');
  assert.equal(s.seen[0]?.type, 'application/json');
  assert.deepEqual(JSON.parse(s.seen[0]?.body ?? ''), { source: 'ddns', event: 'change', message: 'myhome.duckdns.org → 198.51.100.9', at: '2026-11-22T05:00:00.000Z', family: 4, address: '198.51.100.9' });
});

test('healthchecks gets a success ping per good cycle and /fail with the reason per bad one', async () => {
  const s = await sink();
  const { log } = capture();
  const n = new Notifier([{ type: 'healthchecks', url: `${s.base}/0b6a1c2e-uuid/` }], { log });
  n.heartbeat({ ok: true, message: 'all records current', ms: 40 });
  n.heartbeat({ ok: false, message: 'noip home.example.net: held — badauth', ms: 40 });
  await n.flush(600_000); // returns when the deliveries end
  await s.close();
  assert.deepEqual(s.seen.map((x) => [x.method, x.url, x.body]), [
    ['POST', '/0b6a1c2e-uuid/', 'all records current'],
    ['POST', '/0b6a1c2e-uuid/fail', 'noip home.example.net: held — badauth'],
  ]);
});

test('Uptime Kuma gets status, msg and ping in the query of its push URL', () => {
  const req = requestFor({ type: 'uptimekuma', url: 'https://kuma.example/api/push/AbC123?status=up&msg=OK&ping=' }, { heartbeat: { ok: false, message: 'IPv4: no public address', ms: 812.4 } });
  assert.equal(req?.method, 'GET');
  assert.equal(req?.url.pathname, '/api/push/AbC123');
  assert.deepEqual(Object.fromEntries(req?.url.searchParams ?? []), { status: 'down', msg: 'IPv4: no public address', ping: '812' });
});

test('with events set, a heartbeat monitor gets only those events (change/recovery up, hold/failure down)', () => {
  const t: NotifyConfig = { type: 'uptimekuma', url: 'https://kuma.example/api/push/x', events: ['hold', 'recovery'] };
  assert.equal(requestFor(t, { heartbeat: { ok: true, message: 'ok', ms: 1 } }), undefined);
  assert.equal(requestFor(t, { event: { event: 'change', message: 'c', at } }), undefined);
  assert.equal(requestFor(t, { event: { event: 'hold', message: 'h', at } })?.url.searchParams.get('status'), 'down');
  assert.equal(requestFor(t, { event: { event: 'recovery', message: 'r', at } })?.url.searchParams.get('status'), 'up');
  const w: NotifyConfig = { type: 'webhook', url: 'https://hooks.example/x', events: ['hold'] };
  assert.equal(requestFor(w, { event: { event: 'change', message: 'c', at } }), undefined);
  assert.ok(requestFor(w, { event: { event: 'hold', message: 'h', at } }));
});

test('a path verdict change: the webhook gets the step, its move and the advice; a heartbeat monitor shows it up or down', () => {
  const e = { event: 'path' as const, message: 'reach: pass → fail — nothing answered Advice: Forward TCP 8022', at, ok: false, data: { step: 'reach', from: 'pass', to: 'fail', advice: 'Forward TCP 8022' } };
  const w = requestFor({ type: 'webhook', url: 'https://hooks.example/x' }, { event: e });
  assert.deepEqual(JSON.parse(w?.body ?? '{}'), { source: 'ddns', event: 'path', message: e.message, at: new Date(at).toISOString(), step: 'reach', from: 'pass', to: 'fail', advice: 'Forward TCP 8022' });
  const k: NotifyConfig = { type: 'uptimekuma', url: 'https://kuma.example/api/push/x', events: ['path'] };
  assert.equal(requestFor(k, { event: e })?.url.searchParams.get('status'), 'down');
  assert.equal(requestFor(k, { event: { ...e, ok: true } })?.url.searchParams.get('status'), 'up');
});

test('a slow target never blocks the caller, and its timeout ends the request', async () => {
  const s = await sink(null);
  const { lines, log } = capture();
  const n = new Notifier([{ type: 'webhook', url: `${s.base}/slow/tok-9f8e7d6c` }], { log, timeoutMs: 200 });
  const returned: unknown = n.event({ event: 'failure', message: 'x', at });
  assert.equal(returned, undefined, 'event() hands back nothing to wait on');
  assert.equal(lines.length, 0, 'event() returned before any delivery finished');
  await n.flush(600_000); // the delivery ends by its own 200 ms timeout (the runner's timeout bounds a hang)
  await s.close();
  const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'notify.failed');
  assert.ok(failed, 'no notify.failed logged');
  assert.equal(failed.why, 'timed out');
});

test('the secret URL never reaches the log: a target is named by index, type and host', async () => {
  const { lines, log } = capture();
  const url = 'http://127.0.0.1:9/ping/very-secret-uuid-1234?token=abc';
  const n = new Notifier([{ type: 'healthchecks', url }], { log, timeoutMs: 15_000 });
  n.heartbeat({ ok: true, message: 'ok', ms: 1 });
  await n.flush(600_000); // port 9 refuses at once: the delivery ends by itself
  const text = lines.join('');
  assert.match(text, /notify\.failed/);
  assert.ok(!text.includes('very-secret-uuid-1234'), text);
  assert.ok(!text.includes('/ping/'), text);
  assert.equal(targetLabel({ type: 'healthchecks', url }, 0), 'notify[0] healthchecks 127.0.0.1:9');
});

test('the queue is bounded: a flood keeps the newest and says it dropped the rest', async () => {
  const { lines, log } = capture();
  const sent: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const n = new Notifier([{ type: 'webhook', url: 'https://hooks.example/x' }], {
    log, maxQueue: 3,
    send: async (req) => { await gate; sent.push(JSON.parse(req.body ?? '{}').message as string); return { ok: true, status: 204 }; },
  });
  for (let i = 0; i < 10; i++) n.event({ event: 'change', message: `m${i}`, at });
  release();
  await n.flush(600_000); // returns when the deliveries end
  assert.deepEqual(sent, ['m0', 'm7', 'm8', 'm9']);
  assert.equal(lines.filter((l) => l.includes('notify.dropped')).length, 6);
});
