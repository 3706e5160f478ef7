/** Status documents as the daemon builds them, for the page and status tests (texts from lab runs). */
import type { StatusDocument } from '../../src/daemon/status.js';
import type { StepResult } from '../../src/check/step.js';

const healthySteps: StepResult[] = [
  { id: 'lan', status: 'pass', summary: 'l0 192.168.77.50/24 → gateway 192.168.77.1', ms: 3 },
  { id: 'dhcp', status: 'pass', summary: '192.168.77.50 is the reserved address (lan.expectAddress)', ms: 1 },
  { id: 'router', status: 'pass', summary: 'UPnP IGD:2 WANIPConnection:2, NAT-PMP, PCP; external address 44.0.0.2', ms: 40 },
  { id: 'nat', status: 'pass', summary: 'single NAT: the router\'s external address 44.0.0.2 is the public address', ms: 0 },
  { id: 'publicip', status: 'pass', summary: 'IPv4 44.0.0.2 (3 of 3 sources agree, quorum 2)', ms: 120 },
  { id: 'dns', status: 'pass', summary: 'home.example.com A 44.0.0.2 at 44.0.0.53, TTL 60 s and the resolver; labhome.duckdns.org A 44.0.0.2 at 44.0.0.53, TTL 60 s and the resolver', ms: 30 },
  { id: 'reach', status: 'pass', summary: 'nonce reached this host: TCP 44.0.0.2:8022 → port 2222 here (home.example.com resolves there from outside)', ms: 200 },
  { id: 'hairpin', status: 'warn', summary: 'no NAT loopback: 44.0.0.2:8022 did not loop back', advice: 'Use the LAN address from inside.', ms: 500 },
];

export function healthyDoc(): StatusDocument {
  return {
    version: 1,
    generatedAt: '2026-11-29T23:50:00.000Z',
    records: [
      { provider: 'cloudflare', name: 'home.example.com', addresses: { '4': { address: '44.0.0.2', since: '2026-11-29T23:40:00.000Z' } }, result: 'current', history: [{ at: '2026-11-29T23:40:00.000Z', family: 4, from: null, to: '44.0.0.2' }] },
      { provider: 'duckdns', name: 'labhome.duckdns.org', addresses: { '4': { address: '44.0.0.2', since: '2026-11-29T23:40:00.000Z' } }, result: 'updated', history: [{ at: '2026-11-29T23:40:00.000Z', family: 4, from: '44.0.0.9', to: '44.0.0.2' }] },
    ],
    forwards: [
      { key: 'tcp/8022', protocol: 'tcp', internalPort: 2222, externalPort: 8022, families: [4], description: 'ssh', mapping: { via: 'upnp', internalAddress: '192.168.77.50', internalPort: 2222, externalPort: 8022, leaseSeconds: 7200, grantedAt: '2026-11-29T23:40:00.000Z', expiresAt: '2026-11-30T01:40:00.000Z' } },
    ],
    tunnels: [],
    check: { ok: true, nat: 'single', publicAddress: { '4': '44.0.0.2', '6': null }, steps: healthySteps, ms: 900, at: '2026-11-29T23:45:00.000Z', reasons: ['interval'] },
    nextCheckAt: '2026-11-30T00:15:00.000Z',
  };
}

/** The forward is gone from the router: reach fails with its advice. */
export function brokenDoc(): StatusDocument {
  const d = healthyDoc();
  d.forwards[0] = { ...d.forwards[0]!, mapping: null, problem: 'the router refused: ConflictInMappingEntry (718)' };
  d.check = {
    ...d.check!, ok: false, reasons: ['mapping'],
    steps: d.check!.steps.map((s) => s.id === 'reach'
      ? { id: 'reach', status: 'fail', summary: 'TCP 44.0.0.2:8022: nothing answered from outside (timed out)', advice: 'Forward TCP 8022 to 192.168.77.50:2222 on the router (or let ddns map it: check that UPnP/NAT-PMP is on), then run ddns check again.', ms: 3000 }
      : s),
  };
  return d;
}
