/**
 * Loopback stand-ins for a router: an HTTP IGD (description + SOAP control), an SSDP responder and a
 * NAT-PMP/PCP UDP server. Each records every request it saw, so tests can assert that nothing was asked
 * of a host or port it should not have been. 127.0.0.1 plays the gateway on the LAN; 127.0.0.2 plays an
 * address off the LAN (the tests' responder policy accepts only 127.0.0.1).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface SeenRequest { host: string; port: number; method: string; path: string; headers: IncomingMessage['headers']; body: string }

export type HttpHandler = (req: SeenRequest, res: ServerResponse) => void;

export interface FakeHttp { server: Server; host: string; port: number; base: string; seen: SeenRequest[]; handler: HttpHandler; close(): Promise<void> }

export async function fakeHttp(host: string, handler: HttpHandler): Promise<FakeHttp> {
  const seen: SeenRequest[] = [];
  const fake: FakeHttp = { server: createServer(), host, port: 0, base: '', seen, handler, close: async () => {} };
  fake.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = { host, port: fake.port, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(r);
      try { fake.handler(r, res); } catch { res.statusCode = 500; res.end(); }
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, host, () => resolve()));
  fake.port = (fake.server.address() as AddressInfo).port;
  fake.base = `http://${host}:${fake.port}`;
  fake.close = () => new Promise<void>((resolve) => { fake.server.closeAllConnections(); fake.server.close(() => resolve()); });
  return fake;
}

export function soapOk(action: string, values: Record<string, string | number>, service = 'urn:schemas-upnp-org:service:WANIPConnection:1'): string {
  const inner = Object.entries(values).map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action}Response xmlns:u="${service}">${inner}</u:${action}Response></s:Body></s:Envelope>\r\n`;
}

export function soapFault(code: number, description = 'Error'): string {
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${description}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>\r\n`;
}

export function description(o: { control?: string; serviceType?: string; urlBase?: string; deviceType?: string; extraServices?: string } = {}): string {
  const st = o.serviceType ?? 'urn:schemas-upnp-org:service:WANIPConnection:1';
  return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>${o.urlBase !== undefined ? `<URLBase>${o.urlBase}</URLBase>` : ''}
<device><deviceType>${o.deviceType ?? 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'}</deviceType><friendlyName>Fake router</friendlyName>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>${st}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>${o.control ?? '/ctl/IPConn'}</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service>${o.extraServices ?? ''}</serviceList>
</device></deviceList></device></deviceList></device></root>`;
}

/** The SOAP action of a request ("AddPortMapping"), from its SOAPAction header. */
export function actionOf(r: SeenRequest): string {
  const h = String(r.headers.soapaction ?? '');
  return /#(\w+)"?$/.exec(h)?.[1] ?? '';
}

/** Value of one argument in a SOAP request body. */
export function argOf(r: SeenRequest, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(r.body)?.[1];
}

/** A UDP server on loopback that answers each datagram with `reply(msg, from)` (none when undefined). */
export interface FakeUdp { socket: Socket; port: number; seen: Array<{ msg: Buffer; from: RemoteInfo }>; close(): Promise<void> }

export async function fakeUdp(host: string, reply: (msg: Buffer, from: RemoteInfo, socket: Socket) => Buffer | Buffer[] | undefined, port = 0): Promise<FakeUdp> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const seen: FakeUdp['seen'] = [];
  socket.on('message', (msg, from) => {
    seen.push({ msg, from });
    const out = reply(msg, from, socket);
    for (const b of out === undefined ? [] : Array.isArray(out) ? out : [out]) socket.send(b, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, host, () => resolve()));
  return { socket, port: socket.address().port, seen, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/** An SSDP search reply. */
export function ssdpReply(location: string, st = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1', extra = ''): Buffer {
  return Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nUSN: uuid:fake::${st}\r\nEXT:\r\nSERVER: Fake/1.0 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: ${location}\r\n${extra}\r\n`, 'latin1');
}

export const LAN = { gateway: '127.0.0.1', address: '127.0.0.1', interface: 'lo', prefixLength: 8 };
/** Tests' responder policy: only 127.0.0.1 is "on the LAN". */
export const onlyLoopback1 = (a: string): boolean => a === '127.0.0.1';
