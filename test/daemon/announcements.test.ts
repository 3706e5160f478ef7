import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnouncementHub } from '../../src/daemon/announcements.js';
import type { Announcement, ListenOptions, ListenResult } from '../../src/portmap/natpmp.js';

function fakeListen() {
  const opened: ListenOptions[] = [];
  let closed = 0;
  const listen = async (o: ListenOptions): Promise<ListenResult> => { opened.push(o); return { ok: true, close: () => { closed++; } }; };
  return { listen, opened, get closed() { return closed; }, send: (a: Announcement) => opened.at(-1)?.onAnnouncement(a) };
}

const where = { gateway: '192.168.1.1', interfaceAddress: '192.168.1.50' };

test('two subscribers share one socket and both hear each announcement', async () => {
  const f = fakeListen();
  const hub = new AnnouncementHub(f.listen);
  const heard: string[] = [];
  const a = await hub.subscribe({ ...where, onAnnouncement: () => heard.push('a') });
  const b = await hub.subscribe({ ...where, onAnnouncement: () => heard.push('b') });
  assert.ok(a.ok && b.ok);
  assert.equal(f.opened.length, 1);
  f.send({ protocol: 'natpmp', epoch: 5, address: '203.0.113.7' });
  assert.deepEqual(heard.sort(), ['a', 'b']);
  a.close();
  assert.equal(f.closed, 0, 'closed while a subscriber remained');
  b.close();
  await new Promise((r) => setImmediate(r));
  assert.equal(f.closed, 1);
});

test('a subscriber that throws does not starve the others', async () => {
  const f = fakeListen();
  const hub = new AnnouncementHub(f.listen);
  let heard = 0;
  await hub.subscribe({ ...where, onAnnouncement: () => { throw new Error('bug'); } });
  await hub.subscribe({ ...where, onAnnouncement: () => { heard++; } });
  f.send({ protocol: 'pcp', epoch: 1 });
  assert.equal(heard, 1);
});

test('a failure to bind reaches the subscriber as a value, and the next subscription tries again', async () => {
  let attempts = 0;
  const hub = new AnnouncementHub(async () => (++attempts === 1 ? { ok: false, why: 'port 5350 in use' } : { ok: true, close: () => undefined }));
  const r1 = await hub.subscribe({ ...where, onAnnouncement: () => undefined });
  assert.deepEqual(r1, { ok: false, why: 'port 5350 in use' });
  const r2 = await hub.subscribe({ ...where, onAnnouncement: () => undefined });
  assert.equal(r2.ok, true);
  assert.equal(attempts, 2);
});
