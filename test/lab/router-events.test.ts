/**
 * `ddns run` behind a UPnP-only router (NAT-PMP and PCP off, so no announcements): the lab's miniupnpd
 * offers GENA events on its WANIPConnection service, the daemon subscribes, and a WAN address change
 * reaches the provider through the router's NOTIFY — not through the 300 s interval. Waits are events
 * (log lines, the fixture's record); the bounds are hang guards far below the interval.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { startLab, type Lab } from './lab.js';

const skip = labSkip();
const DUCK_TOKEN = 'lab-duck-token-ge11a0aa';

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`hang guard: gave up after ${ms} ms waiting for ${what}`);
}

describe('ddns run with a UPnP-only router: GENA events', { skip }, () => {
  let lab: Lab;
  let daemon: ChildProcess | undefined;
  let log = '';
  before(async () => {
    lab = await startLab('upnp-only', { ipv6: false });
    await lab.internet?.configure({ duckdns: { tokens: { [DUCK_TOKEN]: ['genahome'] } } });
  });
  after(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await lab?.down();
  });

  test('a WAN change is noticed through the router\'s NOTIFY and the provider gets the new address', async () => {
    const a = async () => (await lab.internet?.records({ name: 'genahome.duckdns.org', type: 'A' }))?.map((r) => r.content) ?? [];
    daemon = lab.spawn('lan', lab.ddnsArgv(['run'], {
      config: { ip: { families: [4] }, records: [{ provider: 'duckdns', domains: ['genahome'], token: DUCK_TOKEN }], daemon: { listen: '127.0.0.1:9877', interval: 300 }, state: join(lab.dir, 'gena-state.json') },
    }), { env: { ...lab.ddnsEnv, DDNS_LOG_LEVEL: 'info' } });
    daemon.stderr?.setEncoding('utf8');
    daemon.stderr?.on('data', (c: string) => { log += c; });
    const tail = () => log.split('\n').slice(-15).join('\n');
    await until('the first publication', 60_000, async () => (await a())[0] === lab.addr.public4).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
    await until('the event subscription', 60_000, () => /"event":"router\.events\.up"/.test(log)).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
    assert.doesNotMatch(log, /"event":"router\.events\.lost"/);
    // miniupnpd sends a subscriber its initial NOTIFY at SUBSCRIBE, and while a NOTIFY to a subscriber is
    // in flight it drops any further change for it (upnp_event_var_change_notify skips a subscriber whose
    // notify is pending): a WAN change during the initial NOTIFY would reach ddns by no event at all.
    // And an event is compared with the address ddns asked the router for right after subscribing (its
    // baseline, found by SSDP first, so seconds later): a change before that question is the baseline,
    // not a change. Wait for both in the router's log (-d) before changing the address.
    const routerAfterSubscribe = () => lab.log('miniupnpd').split(/addSubscriber\(\/evt\/IPConn, /).slice(1).join('');
    await until('the router to finish its initial NOTIFY', 60_000, () => /upnp_event_recv: /.test(routerAfterSubscribe())).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
    await until('ddns to ask the router its address after subscribing', 60_000, () => /#GetExternalIPAddress/.test(routerAfterSubscribe())).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
    assert.doesNotMatch(routerAfterSubscribe(), /remove subscriber/, 'the router dropped our subscription after its initial NOTIFY');
    const from = log.length;
    const newWan = '44.0.0.77';
    await lab.setRouterWan(newWan);
    await until('DuckDNS to see the new address', 60_000, async () => (await a())[0] === newWan).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
    const after = log.slice(from);
    // The signal that carried the change (a router's answer between events may be another signal first).
    const signals = after.match(/"event":"ip\.signal"[^\n]*/g) ?? [];
    const signal = signals.find((l) => /router reports 44\.0\.0\.77/.test(l)) ?? signals[0] ?? '';
    assert.match(signal, /"trigger":"router-event"/, `the change came by the router's event, not the interval:\n${after}`);
    // The event is only a hint (the router is then asked, and asked again while its answer is the old
    // address): miniupnpd sends its NOTIFY during the change, carrying the old address or 0.0.0.0 (both
    // seen), and the answer to the question that follows is what counts.
    assert.match(signal, /router event \(ExternalIPAddress (0\.0\.0\.0|44\.0\.0\.\d+)\)/);
    assert.match(signal, /router reports 44\.0\.0\.77 \(was 44\.0\.0\.\d+\)/);
    assert.doesNotMatch(after, /"trigger":"interval"/);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon?.once('exit', r));
    // close() unsubscribed: the router's log has no failed NOTIFY to a vanished callback after the stop.
    assert.match(lab.log('miniupnpd'), /UNSUBSCRIBE|unsubscrib/i);
  });
});
