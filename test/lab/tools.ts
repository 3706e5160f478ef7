/**
 * The third-party comparators run inside a lab host, with their answers parsed: miniupnpc's `upnpc`
 * and libnatpmp's `natpmpc` (docs/protocols.md, "The miniupnp tools as comparators"). Every call is bounded.
 */
import type { Lab } from './lab.js';

export interface UpnpcStatus {
  /** The IGD's description URL, if one answered discovery. */
  desc?: string;
  /** upnpc found an IGD it considers valid (connected, with a usable external address). */
  validIgd: boolean;
  /** `ExternalIPAddress = …` as printed ('' when the router reported an empty one); undefined if absent. */
  externalIp?: string;
  connected?: boolean;
  raw: string;
}

/** `upnpc -m <lanIf> -s` in the LAN host (about 2.1 s with an IGD present, about 8 s without). */
export async function upnpcStatus(lab: Lab, extra: string[] = []): Promise<UpnpcStatus> {
  const r = await lab.exec('lan', ['upnpc', '-m', lab.lanIf, ...extra, '-s'], { timeoutMs: 20_000 });
  return parseUpnpc(r.stdout + r.stderr);
}

export function parseUpnpc(raw: string): UpnpcStatus {
  const desc = /^\s*desc:\s*(\S+)/m.exec(raw)?.[1];
  // upnpc -i prints this when the router answers GetExternalIPAddress with an empty string.
  const ext = /^ExternalIPAddress = ?(.*)$/m.exec(raw) ?? (/GetExternalIPAddress failed\. \(empty string\)/.test(raw) ? ['', ''] : null);
  const status = /^Status\s*:\s*(\w+)/m.exec(raw)?.[1];
  return {
    ...(desc ? { desc } : {}),
    validIgd: /Found valid IGD/.test(raw),
    ...(ext ? { externalIp: (ext[1] ?? '').trim() } : {}),
    ...(status ? { connected: status === 'Connected' } : {}),
    raw,
  };
}

/** `upnpc -a` for the LAN host's own address; true when upnpc reports the redirect. */
export async function upnpcAdd(lab: Lab, internalPort: number, externalPort: number, proto: 'TCP' | 'UDP' = 'TCP', extra: string[] = []): Promise<{ ok: boolean; raw: string }> {
  const r = await lab.exec('lan', ['upnpc', '-m', lab.lanIf, ...extra, '-e', 'ddns-lab', '-a', lab.addr.lan4, String(internalPort), String(externalPort), proto, '3600'], { timeoutMs: 20_000 });
  const raw = r.stdout + r.stderr;
  return { ok: /is redirected to internal/.test(raw), raw };
}

export interface NatpmpcResult {
  /** The public address, when the gateway gave one. */
  publicIp?: string;
  epoch?: number;
  /** libnatpmp's text for a failed request: 'network failure' is result 3 (no public address). */
  failure?: string;
  mapped?: { publicPort: number; privatePort: number; lifetime: number };
  /** natpmpc got no answer at all (within the bound). */
  noAnswer: boolean;
  raw: string;
}

/**
 * `natpmpc -g <router>` (optionally `-a public private proto lifetime`) in the LAN host, bounded by
 * `timeout` (natpmpc alone retries for about 128 s when nobody answers).
 */
export async function natpmpc(lab: Lab, map?: { publicPort: number; privatePort: number; proto?: 'tcp' | 'udp'; lifetime?: number }, boundSeconds = 3): Promise<NatpmpcResult> {
  const args = ['timeout', String(boundSeconds), 'natpmpc', '-g', lab.addr.router4];
  if (map) args.push('-a', String(map.publicPort), String(map.privatePort), map.proto ?? 'tcp', String(map.lifetime ?? 3600));
  const r = await lab.exec('lan', args, { timeoutMs: (boundSeconds + 3) * 1000 });
  return parseNatpmpc(r.stdout + r.stderr, r.code);
}

export function parseNatpmpc(raw: string, code: number): NatpmpcResult {
  const ip = /^Public IP address : (\S+)/m.exec(raw)?.[1];
  const epoch = /^epoch = (\d+)/m.exec(raw)?.[1];
  const m = /^Mapped public port (\d+) protocol \w+ to local port (\d+) liftime (\d+)/m.exec(raw);
  // libnatpmp's words for the result: 'network failure' is NAT-PMP result 3 (no public address).
  const fail = /readnatpmpresponseorretry\(\) failed : (.*)$/m.exec(raw)?.[1]?.trim();
  return {
    ...(ip ? { publicIp: ip } : {}),
    ...(epoch ? { epoch: Number(epoch) } : {}),
    ...(fail ? { failure: fail } : {}),
    ...(m ? { mapped: { publicPort: Number(m[1]), privatePort: Number(m[2]), lifetime: Number(m[3]) } } : {}),
    noAnswer: code === 124 || /does not support nat-pmp/.test(raw),
    raw,
  };
}

/**
 * One SSDP M-SEARCH for the IGD from the LAN host (socat, replies collected for `seconds`); returns the
 * LOCATION of every reply. Empty when no UPnP device answers.
 */
export async function ssdpSearch(lab: Lab, seconds = 1.5): Promise<string[]> {
  const msg = 'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
    + 'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n';
  const r = await lab.exec('lan', ['socat', '-T', String(seconds), '-', 'UDP4-DATAGRAM:239.255.255.250:1900'], { input: msg, timeoutMs: seconds * 1000 + 3000 });
  return [...r.stdout.matchAll(/^LOCATION:\s*(\S+)/gim)].map((m) => m[1] ?? '');
}

/** The device type in the router's root description ('' when it cannot be fetched). */
export async function igdDeviceType(lab: Lab): Promise<string> {
  const r = await httpGet(lab, `http://${lab.addr.router4}:5000/rootDesc.xml`);
  return /<deviceType>(urn:schemas-upnp-org:device:InternetGatewayDevice:\d)<\/deviceType>/.exec(r.body)?.[1] ?? '';
}

export interface HttpGetResult { status: number; body: string; error?: string }

// Runs in the LAN host: node:http(s) sends no User-Agent unless told to, and trusts the lab CA through
// NODE_EXTRA_CA_CERTS. Prints one JSON line.
const GET_JS = `
const [url, headersJson, ms] = process.argv.slice(1);
const mod = url.startsWith('https:') ? require('node:https') : require('node:http');
const out = (v) => { process.stdout.write(JSON.stringify(v)); process.exit(0); };
const req = mod.get(url, { headers: JSON.parse(headersJson), timeout: Number(ms) }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (d) => { if (body.length < 1e6) body += d; }).on('end', () => out({ status: res.statusCode, body }));
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (e) => out({ status: 0, body: '', error: e.message }));
`;

/**
 * One HTTP(S) GET from the LAN host with exactly the headers given (no User-Agent unless you set one),
 * trusting the lab CA. Never rejects: a failure is `status: 0` with `error`.
 */
export async function httpGet(lab: Lab, url: string, headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<HttpGetResult> {
  const r = await lab.exec('lan', [process.execPath, '-e', GET_JS, url, JSON.stringify(headers), String(timeoutMs)], { env: lab.ddnsEnv, timeoutMs: timeoutMs + 5_000 });
  try {
    const v = JSON.parse(r.stdout) as HttpGetResult;
    return { status: Number(v.status) || 0, body: String(v.body ?? ''), ...(v.error ? { error: String(v.error) } : {}) };
  } catch {
    return { status: 0, body: '', error: (r.stderr || r.stdout).trim().slice(0, 500) || `exit ${r.code}` };
  }
}

/** The addresses of the hops from the LAN host towards `target` (tracepath -n, no root needed). */
export async function hops(lab: Lab, target: string): Promise<string[]> {
  const r = await lab.exec('lan', ['tracepath', '-n', '-m', '6', target], { timeoutMs: 15_000 });
  const out: string[] = [];
  for (const m of r.stdout.matchAll(/^\s*\d+:\s+(\d+\.\d+\.\d+\.\d+)/gm)) if (m[1] && out.at(-1) !== m[1]) out.push(m[1]);
  return out;
}
