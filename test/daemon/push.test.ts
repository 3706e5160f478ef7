import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type NotifyConfig, configSchema } from '../../src/config/schema.js';
import { redactSecrets } from '../../src/config/secrets.js';
import { Notifier, type Notification, targetLabel } from '../../src/daemon/notify.js';
import { pushText } from '../../src/daemon/push.js';
import { createLogger } from '../../src/log.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { json, text, type FixtureRequest, type HttpService } from '../fixtures/types.js';

/**
 * One loopback HTTPS server speaking each service's documented "post a message" endpoint: it answers as
 * the service does (ntfy JSON with an id, Discord 204, Slack "ok", Telegram {ok:true}, Gotify the stored
 * message) and refuses a request of the wrong shape, so a wrong shape fails the delivery, not only an
 * assertion.
 */
function service(seen: FixtureRequest[]): HttpService {
  return {
    name: 'push',
    handle(req: FixtureRequest) {
      seen.push(req);
      const body = (): Record<string, unknown> => { try { return JSON.parse(req.body) as Record<string, unknown>; } catch { return {}; } };
      if (req.method !== 'POST') return text(405, 'method not allowed');
      if (req.path === '/ddns-alerts') { // ntfy topic
        if (req.headers.authorization !== 'Bearer tk_ntfy123') return json(401, { code: 40101, http: 401, error: 'unauthorized' });
        return json(200, { id: 'abc', event: 'message', topic: 'ddns-alerts', title: req.headers.title, message: req.body });
      }
      if (req.path.startsWith('/api/webhooks/')) { // Discord
        const b = body();
        if (typeof b.content !== 'string' || b.content.length > 2000) return json(400, { message: 'Cannot send an empty message', code: 50006 });
        return { kind: 'reply', status: 204, body: '' };
      }
      if (req.path.startsWith('/services/')) { // Slack
        return typeof body().text === 'string' ? text(200, 'ok') : text(400, 'no_text');
      }
      const tg = /^\/bot([^/]+)\/sendMessage$/.exec(req.path);
      if (tg) { // Telegram
        if (tg[1] !== '123456:ABC-bot') return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
        const b = body();
        if (!b.chat_id || typeof b.text !== 'string') return json(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        return json(200, { ok: true, result: { message_id: 1, chat: { id: Number(b.chat_id) }, text: b.text } });
      }
      if (req.path === '/gotify/message') {
        if (req.headers['x-gotify-key'] !== 'AppTok.123') return json(401, { error: 'Unauthorized', errorCode: 401, errorDescription: 'you need to provide a valid access token' });
        const b = body();
        return typeof b.message === 'string' ? json(200, { id: 1, appid: 1, ...b }) : json(400, { error: 'Bad Request' });
      }
      return text(404, 'not found');
    },
  };
}

const hold: Notification = { event: 'hold', at: Date.UTC(2026, 10, 30), message: 'rfc2136 home.example.org: the primary rejected the signature (NOTAUTH/BADSIG) — set keySecret to the secret of that key' };

describe('push notifications over HTTPS to loopback fixtures', () => {
  let fx: HttpsFixture;
  const seen: FixtureRequest[] = [];
  before(async () => { fx = await startHttpsService(service(seen)); });
  after(async () => { await fx.close(); });

  async function deliver(target: NotifyConfig, e: Notification = hold): Promise<{ req: FixtureRequest | undefined; logs: string[] }> {
    const logs: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => logs.push(s) } });
    const before = seen.length;
    const n = new Notifier([target], { log, timeoutMs: 5000 });
    n.event(e);
    n.heartbeat({ ok: true, message: 'cycle ok', ms: 10 });
    await n.flush(10_000);
    assert.equal(seen.length - before, 1, 'one request per event, none for a heartbeat');
    assert.ok(logs.some((l) => l.includes('"notify.sent"')), logs.join(''));
    return { req: seen.at(-1), logs };
  }

  test('ntfy: POST to the topic, body = the message, Title/Priority/Tags headers, bearer token', async () => {
    const { req } = await deliver({ type: 'ntfy', url: `${fx.url}/ddns-alerts`, token: 'tk_ntfy123' });
    assert.equal(req?.body, hold.message);
    assert.equal(req?.headers.title, 'ddns: a provider refused a record: action needed');
    assert.equal(req?.headers.priority, '4');
    assert.equal(req?.headers.tags, 'warning');
  });

  test('Discord: JSON content with the title and what to do, no mentions', async () => {
    const { req } = await deliver({ type: 'discord', url: `${fx.url}/api/webhooks/1234/s3cr3t-hook` });
    const b = JSON.parse(req?.body ?? '{}') as { content: string; allowed_mentions: unknown };
    assert.match(b.content, /action needed\*\*\n.*BADSIG.*set keySecret/);
    assert.deepEqual(b.allowed_mentions, { parse: [] });
  });

  test('Slack: JSON text', async () => {
    const { req } = await deliver({ type: 'slack', url: `${fx.url}/services/T000/B000/s3cr3t` }, { event: 'change', at: 0, message: 'noip home.example.net: 44.0.0.1 → 44.0.0.2' });
    assert.equal((JSON.parse(req?.body ?? '{}') as { text: string }).text, '*ddns: a record now points at a new address*\nnoip home.example.net: 44.0.0.1 → 44.0.0.2');
  });

  test('Telegram: sendMessage with chat_id and text; the bot token is in the path but never in a log line', async () => {
    const { req, logs } = await deliver({ type: 'telegram', botToken: '123456:ABC-bot', chatId: '-1001234', apiUrl: fx.url });
    const b = JSON.parse(req?.body ?? '{}') as { chat_id: string; text: string };
    assert.equal(b.chat_id, '-1001234');
    assert.match(b.text, /BADSIG/);
    assert.ok(!logs.join('').includes('ABC-bot'));
  });

  test('Gotify: POST /message with X-Gotify-Key and {title, message, priority}', async () => {
    const { req } = await deliver({ type: 'gotify', url: `${fx.url}/gotify`, token: 'AppTok.123' });
    const b = JSON.parse(req?.body ?? '{}') as { title: string; message: string; priority: number };
    assert.deepEqual([b.title, b.priority], ['ddns: a provider refused a record: action needed', 8]);
    assert.equal(b.message, hold.message);
  });

  test('a refused delivery (wrong token) is logged as failed, without the secret', async () => {
    const logs: string[] = [];
    const n = new Notifier([{ type: 'telegram', botToken: '999:WRONG-secret', chatId: '1', apiUrl: fx.url }], { log: createLogger({ level: 'debug', destination: { write: (s: string) => logs.push(s) } }) });
    n.event(hold);
    await n.flush(10_000);
    assert.ok(logs.some((l) => l.includes('"notify.failed"') && l.includes('HTTP 401')), logs.join(''));
    assert.ok(!logs.join('').includes('WRONG-secret'));
  });
});

describe('push configuration', () => {
  test('required fields per type, named', () => {
    const r = configSchema.safeParse({ daemon: { notify: [{ type: 'telegram', chatId: 5 }, { type: 'gotify', url: 'https://g.example.net' }, { type: 'discord' }] } });
    assert.equal(r.success, false);
    const msgs = r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') ?? '';
    assert.match(msgs, /daemon\.notify\.0\.botToken: is required for notify type telegram/);
    assert.match(msgs, /daemon\.notify\.1\.token: is required for notify type gotify/);
    assert.match(msgs, /daemon\.notify\.2\.url: is required for notify type discord/);
  });
  test('URLs with secrets only over TLS unless loopback; the URL is not echoed', () => {
    const bad = configSchema.safeParse({ daemon: { notify: [{ type: 'discord', url: 'http://discord.example/api/webhooks/1/SECRETPART' }] } });
    assert.equal(bad.success, false);
    assert.ok(!JSON.stringify(bad.error?.issues).includes('SECRETPART'));
    assert.equal(configSchema.safeParse({ daemon: { notify: [{ type: 'ntfy', url: 'http://127.0.0.1:8080/topic' }] } }).success, true);
  });
  test('tokens and URLs are redacted in config print; labels show only the host', () => {
    const c = configSchema.parse({ daemon: { notify: [{ type: 'telegram', botToken: '123:SECRET', chatId: '1' }, { type: 'ntfy', url: 'https://ntfy.sh/SECRETTOPIC', token: 'tk_SECRET' }] } });
    assert.ok(!JSON.stringify(redactSecrets(structuredClone(c) as unknown as Record<string, unknown>)).includes('SECRET'));
    assert.equal(targetLabel(c.daemon.notify[0] as NotifyConfig, 0), 'notify[0] telegram api.telegram.org');
    assert.equal(targetLabel(c.daemon.notify[1] as NotifyConfig, 1), 'notify[1] ntfy ntfy.sh');
  });
  test('text: control characters removed, capped with an ellipsis', () => {
    const t = pushText({ event: 'change', at: 0, message: `a\u001b[31mb${'x'.repeat(50)}` }, 20);
    assert.equal(t.body.length, 20);
    assert.ok(t.body.endsWith('…') && !t.body.includes('\u001b'));
  });
});
