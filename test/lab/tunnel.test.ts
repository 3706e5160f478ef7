/**
 * Reverse tunnels through a relay (issue 15), behind the `cgnat` scenario's carrier NAT, where no
 * forward can work: a real OpenSSH sshd in the internet host with a restricted tunnel user, and
 * `ddns tunnel` in the LAN host. Tests wait for events (log lines, connections); the caps are only a
 * safety net — the seconds are measured by bench/tunnel.ts.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { startLab, type Lab } from './lab.js';
import { startRelay, type Relay } from './relay.js';

const skip = labSkip();
const CAP = 30_000;
const REMOTE = 2222;
const TAKEN = 2223;
const LOCAL = 8080;

interface Running { child: ChildProcess; lines: Record<string, unknown>[]; stderr(): string; exit: Promise<number | null> }

function startTunnel(lab: Lab, tunnels: object[]): Running {
  const child = lab.spawn('lan', lab.ddnsArgv(['tunnel'], { config: { tunnels } }), { env: lab.ddnsEnv });
  let err = '';
  const lines: Record<string, unknown>[] = [];
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const l of d.split('\n')) { try { lines.push(JSON.parse(l) as Record<string, unknown>); } catch { /* not a log line */ } }
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, stderr: () => err, exit };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = CAP): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The n-th `tunnel.up` line (1-based). */
function upNo(t: Running, n: number): Promise<Record<string, unknown>> {
  return until(`tunnel.up #${n}\n${t.stderr()}`, () => t.lines.filter((l) => l.event === 'tunnel.up')[n - 1]);
}

describe('ddns tunnel through an OpenSSH relay (cgnat)', { skip }, () => {
  let lab: Lab;
  let relay: Relay;
  let service: { close(): Promise<void> };

  before(async () => {
    lab = await startLab('cgnat', { fixtures: false });
    relay = await startRelay(lab, { ports: [REMOTE, TAKEN] });
    service = await lab.listen('lan', LOCAL);
  });
  after(async () => {
    await service?.close();
    await relay?.down();
    await lab?.down();
  });

  const echoThrough = async () => {
    const r = await lab.connectFromInternet(relay.host, REMOTE, { send: 'through the relay\n' });
    return r.ok && r.data === 'through the relay\n';
  };

  test('up, carries traffic, survives the relay dropping it, sshd restarting and a WAN change; SIGTERM removes the bind', async () => {
    const t = startTunnel(lab, [relay.tunnel([{ remotePort: REMOTE, localPort: LOCAL }], { keepaliveInterval: 1, keepaliveCountMax: 3 })]);
    try {
      const up = await upNo(t, 1);
      assert.equal(up.relay, `${relay.user}@${relay.host}:22`);
      assert.ok(await relay.listening(REMOTE), 'the relay listens on the remote port');
      assert.ok(await echoThrough(), 'a connection from the internet to relay:2222 reaches the LAN service');

      // The relay ends the session.
      await relay.killSessions();
      const down1 = await until('tunnel.down (closed)', () => t.lines.find((l) => l.event === 'tunnel.down'));
      assert.equal(down1.kind, 'closed');
      await upNo(t, 2);
      assert.ok(await echoThrough(), 'traffic again after the relay dropped the session');

      // The relay's sshd goes away with every session and comes back.
      await relay.restart(500);
      await upNo(t, 3);
      assert.ok(await echoThrough(), 'traffic again after sshd restarted');

      // The home's public address changes (the carrier NAT's outside address): the relay keeps the old
      // session and its port; the new session ends it through the forced command and binds again.
      await lab.setPublic4('44.0.0.33');
      const up4 = await upNo(t, 4);
      assert.equal(up4.reaped, true, 'the stale session held the port and was ended');
      assert.ok(await echoThrough(), 'traffic again after the WAN change');
      assert.deepEqual((await relay.sessions()).length, 1, 'one session left on the relay');

      t.child.kill('SIGTERM');
      assert.equal(await t.exit, 0);
      await until('the relay to drop the remote bind', async () => !(await relay.listening(REMOTE)));
    } finally {
      t.child.kill('SIGKILL');
    }
  });

  test('a wrong pinned host key: no tunnel, exit 1, the error names the host key', async () => {
    const t = startTunnel(lab, [relay.tunnel([{ remotePort: REMOTE, localPort: LOCAL }], { hostKey: relay.otherHostKey })]);
    const code = await t.exit;
    assert.equal(code, 1);
    assert.match(t.stderr(), /host key/);
    assert.match(t.stderr(), /SHA256:/);
    assert.ok(!t.lines.some((l) => l.event === 'tunnel.up'));
    assert.ok(!(await relay.listening(REMOTE)));
  });

  test('a remote port that is taken, or not permitted: exit 1 with that reason', async () => {
    const holder = await lab.listen('wan', TAKEN);
    try {
      const t = startTunnel(lab, [relay.tunnel([{ remotePort: TAKEN, localPort: LOCAL }])]);
      assert.equal(await t.exit, 1);
      assert.match(t.stderr(), /refused to listen on 0\.0\.0\.0:2223: the port is taken there, or not allowed/);
      assert.match(t.stderr(), /permitlisten/);
    } finally {
      await holder.close();
    }
    const t2 = startTunnel(lab, [relay.tunnel([{ remotePort: 2299, localPort: LOCAL }])]);
    assert.equal(await t2.exit, 1);
    assert.match(t2.stderr(), /refused to listen on 0\.0\.0\.0:2299/);
  });

  test('a bad tunnel config is a configuration error (exit 2) naming the key', async () => {
    const r = await lab.ddns(['tunnel'], { config: { tunnels: [{ ...relay.tunnel([{ remotePort: REMOTE, localPort: LOCAL }]), hostKey: 'ssh-ed25519 AAAAC3NzaC1yc2EAAAA' }] } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /tunnels\[0\]\.hostKey/);
  });
});

describe('ddns check and ddns update with a relay (cgnat, fixtures)', { skip }, () => {
  const DUCK_TOKEN = 'lab-duck-token-relay-77';
  test('check: ok through the relay — the relay step passes and nat warns (the relay carries the traffic); the record points at the relay', async () => {
    const lab = await startLab('cgnat');
    let relay: Relay | undefined;
    let t: Running | undefined;
    try {
      relay = await startRelay(lab, { ports: [REMOTE] });
      await lab.internet?.configure({ duckdns: { tokens: { [DUCK_TOKEN]: ['relayhome'] } } });
      const tunnels = [relay.tunnel([{ remotePort: REMOTE, localPort: LOCAL }])];
      t = startTunnel(lab, tunnels);
      await upNo(t, 1);
      const r = await lab.ddns(['check', '--json'], { config: { tunnels }, timeoutMs: 60_000 });
      const report = JSON.parse(r.stdout) as { ok: boolean; nat: string; steps: { id: string; status: string; summary: string }[] };
      const step = (id: string) => report.steps.find((s) => s.id === id);
      assert.equal(step('relay')?.status, 'pass', JSON.stringify(report.steps, null, 1));
      assert.match(step('relay')?.summary ?? '', /nonce came back through the relay/);
      assert.equal(report.nat, 'cgnat');
      assert.equal(step('nat')?.status, 'warn');
      assert.match(step('nat')?.summary ?? '', /the relay carries the traffic/);
      // Behind CGNAT with a working relay the whole check passes (no step fails: router and nat only warn).
      assert.equal(report.ok, true, JSON.stringify(report.steps, null, 1));
      assert.equal(r.code, 0, r.stderr);

      const u = await lab.ddns(['update'], { config: { tunnels, records: [{ provider: 'duckdns', domains: ['relayhome'], token: DUCK_TOKEN, target: 'relay' }] } });
      assert.equal(u.code, 0, u.stderr);
      assert.deepEqual((await lab.internet?.records({ name: 'relayhome.duckdns.org', type: 'A' }))?.map((x) => x.content), [relay.host]);
    } finally {
      t?.child.kill('SIGKILL');
      await relay?.down();
      await lab.down();
    }
  });
});
