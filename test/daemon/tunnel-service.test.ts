/**
 * The tunnels inside the daemon: readiness per tunnel, ddns_tunnel_* metrics, a notification when a
 * tunnel stays down and when it is back, a WAN change passed on — over a fake Dial and the manual clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { AnnouncementHub } from '../../src/daemon/announcements.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import type { OutgoingRequest } from '../../src/daemon/notify.js';
import { Reporter } from '../../src/daemon/reporter.js';
import type { StateStore } from '../../src/state/store.js';
import { TunnelService, tunnelView } from '../../src/daemon/tunnel-service.js';
import { ManualClock, settle } from '../../src/state/clock.js';
import type { DialResult, LinkFailure } from '../../src/tunnel/link.js';
import { FakeSession } from '../helpers/fake-session.js';

function ed25519Blob(): string {
  const type = Buffer.from('ssh-ed25519');
  const b = Buffer.alloc(4 + type.length + 4 + 32, 7);
  b.writeUInt32BE(type.length, 0);
  type.copy(b, 4);
  b.writeUInt32BE(32, 4 + type.length);
  return b.toString('base64');
}

test('tunnel service: readiness, metrics, notifications after 10 s down and on recovery, WAN change', async () => {
  const clock = new ManualClock();
  const config = configSchema.parse({
    tunnels: [{ relay: 'tunnel@203.0.113.9', identity: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----', hostKey: `ssh-ed25519 ${ed25519Blob()}`, forwards: [{ remotePort: 2222, localPort: 22 }] }],
    daemon: { notify: [{ type: 'webhook', url: 'https://hooks.example.net/t' }] },
  });
  const sent: OutgoingRequest[] = [];
  const metrics = createMetrics({ processMetrics: false });
  const reporter = new Reporter({ log: pino({ level: 'silent' }), metrics, notify: config.daemon.notify, notifySend: (req) => { sent.push(req); return Promise.resolve({ ok: true, status: 200 }); }, startedAt: clock.now(), now: () => clock.now() });
  const refused: LinkFailure = { kind: 'connect', message: 'ECONNREFUSED' };
  // Up; then down for 0.5 + 1 + 2 + 4 + 8 + 16 s of backoff (random 0: half of each cap); then up.
  const script: ('ok' | LinkFailure)[] = ['ok', refused, refused, refused, refused, refused, refused, 'ok', 'ok'];
  const sessions: FakeSession[] = [];
  const dial = () => {
    const next = script.shift() ?? { kind: 'connect', message: 'end of script' };
    if (next === 'ok') { const s = new FakeSession(); sessions.push(s); return Promise.resolve<DialResult>({ ok: true, session: s, reaped: false }); }
    return Promise.resolve<DialResult>({ ok: false, failure: next });
  };
  const svc = new TunnelService(
    { config, log: pino({ level: 'silent' }), clock, random: () => 0, reporter, hub: {} as AnnouncementHub, store: {} as StateStore },
    { link: () => Promise.resolve({ dial }) },
  );
  const reasons = () => reporter.health.readiness().reasons.filter((r) => r.startsWith('tunnel'));
  svc.start();
  // The service loads src/tunnel on first start: wait for the first tunnel to come up (an event, bounded).
  for (let i = 0; i < 1000 && svc.statuses()[0]?.state !== 'up'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(reasons(), []);
  assert.match((await metrics.text()).body, /ddns_tunnel_up\{tunnel="tunnels\[0\]"\} 1/);
  assert.equal(tunnelView(svc.statuses()[0]!).state, 'up');
  assert.deepEqual(tunnelView(svc.statuses()[0]!).forwards, ['203.0.113.9:2222 → 127.0.0.1:22']);

  await clock.advance(60_000);
  sessions[0]?.drop({ kind: 'closed', message: 'the relay closed the session' });
  await settle();
  assert.match(reasons()[0] ?? '', /^tunnel tunnels\[0\]: backoff: ECONNREFUSED/);
  assert.match((await metrics.text()).body, /ddns_tunnel_up\{tunnel="tunnels\[0\]"\} 0/);
  assert.equal(sent.length, 0, 'not notified before it has been down 10 s');
  await clock.advance(10_000);
  await settle();
  assert.equal(sent.length, 1);
  assert.match(sent[0]?.body ?? '', /tunnel tunnels\[0\] to tunnel@203\.0\.113\.9:22 is down/);
  await clock.advance(60_000);
  await settle();
  assert.deepEqual(reasons(), []);
  assert.equal(sent.length, 2, JSON.stringify([svc.statuses(), sent.map((s) => s.body), script.length]));
  assert.match(sent[1]?.body ?? '', /is up again/);
  assert.match((await metrics.text()).body, /ddns_tunnel_reconnects_total\{tunnel="tunnels\[0\]"\} 1/);

  svc.wanChanged();
  await settle();
  assert.equal(sessions[1]?.closedWith?.kind, 'wan-change');
  assert.equal(sessions.length, 3);
  await svc.stop();
  assert.equal(sessions[2]?.closedWith?.kind, 'stopped');
});
