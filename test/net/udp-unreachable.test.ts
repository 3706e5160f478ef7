/**
 * A UDP exchange towards an address with no route (the LAN interface down, a gateway on a subnet this
 * host left): connect() fails with ENETUNREACH and hands the error to its callback, leaving the socket
 * unconnected. Both UDP paths (the NAT-PMP/PCP/STUN transport and the DNS client) must answer with that
 * failure — before the fix the first threw ERR_SOCKET_BAD_PORT out of a callback (the process died) and
 * the second reported "Port should be > 0 … Received function".
 *
 * "No route" needs a network namespace with only loopback: the checks run in a child made with `unshare
 * --net` (as root) or in an unprivileged user namespace, so nothing ever leaves this machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;

const CHILD = `
import { udpExchange } from './src/net/udp.ts';
import { queryServer } from './src/dns/wire.ts';
const udp = await udpExchange(Buffer.from([0, 0]), { gateway: '192.0.2.1', port: 5351, delays: [200], accept: () => 1 });
const dns = await queryServer({ host: '192.0.2.53', port: 53 }, 'example.com', 'A', { timeoutMs: 2000 });
console.log(JSON.stringify({ udp, dns }));
`;

function inEmptyNetns(): { status: number | null; stdout: string; stderr: string } {
  const pre = process.getuid?.() === 0 ? ['--net'] : ['--user', '--map-root-user', '--net'];
  const r = spawnSync('unshare', [...pre, '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, // a hang guard only
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('no route to the gateway or the DNS server: a clear failure, no crash, no bogus port error', () => {
  const r = inEmptyNetns();
  assert.equal(r.status, 0, `the child must not die:\n${r.stderr}`);
  const { udp, dns } = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
    udp: { ok: boolean; kind?: string; why?: string; tries?: number };
    dns: { ok: boolean; why?: string };
  };
  assert.equal(udp.ok, false);
  assert.equal(udp.kind, 'error');
  assert.match(udp.why ?? '', /^cannot reach 192\.0\.2\.1:5351: .*ENETUNREACH/);
  assert.equal(udp.tries, 0, 'nothing was sent');
  assert.equal(dns.ok, false);
  assert.match(dns.why ?? '', /ENETUNREACH/);
  assert.doesNotMatch(dns.why ?? '', /ERR_SOCKET_BAD_PORT|Received function/);
});
