/**
 * A small stateful IGD on loopback, modelled on miniupnpd's answers (upnpsoap.c): a mapping table,
 * secure_mode (InternalClient must be the requester: 606 on v2, 718 on v1), 718 for a port held by
 * another client, 714 for missing entries, 713 at the end of the list, optional 725/724 behaviour.
 */
import { fakeHttp, soapFault, soapOk, description, actionOf, argOf, type FakeHttp } from './fakes.js';

export interface FakeMapping { ext: number; proto: string; client: string; iport: number; desc: string; lease: number }

export interface IgdOptions {
  version?: 1 | 2;
  secureMode?: boolean;
  onlyPermanent?: boolean;
  samePortRequired?: boolean;
  /** The client address the router sees (loopback requests come from 127.0.0.1). */
  mappings?: FakeMapping[];
  externalIp?: string;
  status?: string;
  /** Ports refused by a permission rule (606/718 with no entry). */
  denied?: number[];
  /**
   * IGD2's GetListOfPortMappings (v2 only; v1 answers 401): `cdata` (default) wraps the PortMappingList in
   * CDATA as miniupnpd 2.3.1 does, `escaped` escapes it, `refuse` answers 606, `raw` sends `listing` as is.
   */
  list?: 'cdata' | 'escaped' | 'refuse' | 'raw';
  listing?: string;
}

/** The PortMappingList document of GetListOfPortMappings, as miniupnpd writes it. */
export function portListing(entries: FakeMapping[]): string {
  const e = entries.map((m) => `<p:PortMappingEntry><p:NewRemoteHost></p:NewRemoteHost><p:NewExternalPort>${m.ext}</p:NewExternalPort><p:NewProtocol>${m.proto}</p:NewProtocol><p:NewInternalPort>${m.iport}</p:NewInternalPort><p:NewInternalClient>${m.client}</p:NewInternalClient><p:NewEnabled>1</p:NewEnabled><p:NewDescription>${m.desc}</p:NewDescription><p:NewLeaseTime>${m.lease}</p:NewLeaseTime></p:PortMappingEntry>`).join('');
  return `<p:PortMappingList xmlns:p="urn:schemas-upnp-org:gw:WANIPConnection" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:schemas-upnp-org:gw:WANIPConnection http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd">${e}</p:PortMappingList>`;
}

export interface FakeIgd extends FakeHttp { table: FakeMapping[]; location: string; opts: IgdOptions }

export async function fakeIgd(o: IgdOptions = {}, host = '127.0.0.1'): Promise<FakeIgd> {
  const v = o.version ?? 1;
  const st = `urn:schemas-upnp-org:service:WANIPConnection:${v}`;
  const table: FakeMapping[] = [...(o.mappings ?? [])];
  const http = await fakeHttp(host, () => {});
  const igd = Object.assign(http, { table, location: `${http.base}/rootDesc.xml`, opts: o });
  http.handler = (req, res) => {
    const send = (status: number, body: string) => { res.statusCode = status; res.setHeader('content-type', 'text/xml; charset="utf-8"'); res.end(body); };
    if (req.method === 'GET' && req.path === '/rootDesc.xml') return send(200, description({ serviceType: st, deviceType: `urn:schemas-upnp-org:device:InternetGatewayDevice:${v}` }));
    if (req.method !== 'POST' || req.path !== '/ctl/IPConn') return send(404, '');
    const action = actionOf(req);
    const a = (n: string) => argOf(req, n) ?? '';
    const requester = '127.0.0.1';
    const ok = (vals: Record<string, string | number> = {}) => send(200, soapOk(action, vals, st));
    const fault = (c: number) => send(500, soapFault(c));
    const find = (ext: number, proto: string) => table.find((m) => m.ext === ext && m.proto === proto);
    switch (action) {
      case 'GetStatusInfo': return ok({ NewConnectionStatus: o.status ?? 'Connected', NewLastConnectionError: 'ERROR_NONE', NewUptime: 100 });
      case 'GetExternalIPAddress': return ok({ NewExternalIPAddress: o.externalIp ?? '44.0.0.2' });
      case 'AddPortMapping':
      case 'AddAnyPortMapping': {
        if (action === 'AddAnyPortMapping' && v === 1) return fault(401);
        const ext = Number(a('NewExternalPort')); const iport = Number(a('NewInternalPort')); const proto = a('NewProtocol');
        const client = a('NewInternalClient'); let lease = Number(a('NewLeaseDuration'));
        if (o.secureMode && client !== requester) return fault(v === 2 ? 606 : 718);
        if (o.denied?.includes(ext)) return fault(v === 2 ? 606 : 718);
        if (o.onlyPermanent && lease !== 0) return fault(725);
        if (o.samePortRequired && ext !== iport) return fault(724);
        if (v === 2 && (lease === 0 || lease > 604800)) lease = 604800;
        let port = ext;
        const held = find(ext, proto);
        if (held && !(held.client === client && held.iport === iport)) {
          if (action === 'AddPortMapping') return fault(718);
          while (find(port, proto)) port++;
        }
        const i = table.findIndex((m) => m.ext === port && m.proto === proto);
        if (i >= 0) table.splice(i, 1);
        table.push({ ext: port, proto, client, iport, desc: a('NewPortMappingDescription'), lease });
        return action === 'AddAnyPortMapping' ? ok({ NewReservedPort: port }) : ok();
      }
      case 'DeletePortMapping': {
        const i = table.findIndex((m) => m.ext === Number(a('NewExternalPort')) && m.proto === a('NewProtocol'));
        if (i < 0) return fault(714);
        table.splice(i, 1);
        return ok();
      }
      case 'GetSpecificPortMappingEntry': {
        const m = find(Number(a('NewExternalPort')), a('NewProtocol'));
        if (!m) return fault(714);
        return ok({ NewInternalPort: m.iport, NewInternalClient: m.client, NewEnabled: 1, NewPortMappingDescription: m.desc, NewLeaseDuration: m.lease });
      }
      case 'GetGenericPortMappingEntry': {
        const m = table[Number(a('NewPortMappingIndex'))];
        if (!m) return fault(713);
        return ok({ NewRemoteHost: '', NewExternalPort: m.ext, NewProtocol: m.proto, NewInternalPort: m.iport, NewInternalClient: m.client, NewEnabled: 1, NewPortMappingDescription: m.desc, NewLeaseDuration: m.lease });
      }
      case 'GetListOfPortMappings': {
        if (v === 1) return fault(401);
        if (o.list === 'refuse') return fault(606);
        const start = Number(a('NewStartPort')); const end = Number(a('NewEndPort')); const n = Number(a('NewNumberOfPorts'));
        const doc = o.list === 'raw' ? o.listing ?? '' : portListing(table.filter((m) => m.proto === a('NewProtocol') && m.ext >= start && m.ext <= end).slice(0, n || undefined));
        const value = o.list === 'escaped' ? doc.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : o.list === 'raw' ? doc : `<![CDATA[${doc}]]>`;
        return ok({ NewPortListing: value });
      }
      default: return fault(401);
    }
  };
  return igd;
}
