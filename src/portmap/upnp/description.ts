/**
 * The device description (LOCATION's XML): which WAN connection services the gateway offers and where
 * their control URLs are. Pure: text in, typed services out.
 *
 * Contract: walks the device tree recursively (IGD → WANDevice → WANConnectionDevice → services);
 * keeps only WANIPConnection:1/2, WANPPPConnection:1 and WANIPv6FirewallControl:1; every URL, once
 * resolved, must be http on exactly LOCATION's host and port — URLBase is honoured only when it is,
 * and a service whose control URL points elsewhere is dropped (and named in `rejected`).
 */
import { children, child, parseXml, text, type XmlNode } from './xml.js';
import { isFetchableUrl } from './http.js';

export type ServiceKind = 'WANIPConnection' | 'WANPPPConnection' | 'WANIPv6FirewallControl';

export interface IgdService {
  kind: ServiceKind;
  /** Exactly as the description spells it (used in SOAPAction). */
  serviceType: string;
  version: number;
  controlUrl: URL;
  /** GENA subscription URL (confined like controlURL); absent when the device offers none. */
  eventSubUrl?: URL;
}

export interface IgdDescription {
  location: URL;
  /** 1 or 2 from the root device type; 0 when the root is not an InternetGatewayDevice. */
  igdVersion: number;
  friendlyName: string;
  services: IgdService[];
  /** Services dropped because their URL left the device's host:port (or was unusable). */
  rejected: string[];
}

export type DescriptionResult = { ok: true; description: IgdDescription } | { ok: false; why: string };

export const DESCRIPTION_MAX_BYTES = 64 * 1024;
const MAX_DEVICES = 64;

const serviceRe = /^urn:schemas-upnp-org:service:(WANIPConnection|WANPPPConnection|WANIPv6FirewallControl):(\d{1,2})$/;
const igdRe = /^urn:schemas-upnp-org:device:InternetGatewayDevice:(\d{1,2})$/;

/** Same scheme, host and port as the device's LOCATION? */
export function sameOrigin(url: URL, location: URL): boolean {
  return isFetchableUrl(url) && url.protocol === location.protocol && url.hostname === location.hostname && url.port === location.port;
}

/** Resolves `ref` against `base`; undefined unless the result stays on `location`'s host:port. */
export function confineUrl(ref: string, base: URL, location: URL): URL | undefined {
  if (ref === '' || /[\s\\]/.test(ref)) return undefined;
  let url: URL;
  try { url = new URL(ref, base); } catch { return undefined; }
  return sameOrigin(url, location) ? url : undefined;
}

/**
 * A WAN connection service remembered from an earlier description (the hint file), checked by the same
 * rules as a description's: a known service type, the control URL on `location`'s host:port. Pure;
 * undefined when anything is off (the caller then reads the description).
 */
export function rememberedService(raw: unknown, location: URL): IgdService | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const { serviceType, controlUrl } = raw as Record<string, unknown>;
  if (typeof serviceType !== 'string' || typeof controlUrl !== 'string' || controlUrl.length > 512) return undefined;
  const m = serviceRe.exec(serviceType);
  if (!m || m[1] === 'WANIPv6FirewallControl') return undefined;
  const kind = m[1] as ServiceKind;
  const version = Number(m[2]);
  if (kind === 'WANPPPConnection' ? version !== 1 : version !== 1 && version !== 2) return undefined;
  const url = confineUrl(controlUrl, location, location);
  return url ? { kind, serviceType, version, controlUrl: url } : undefined;
}

export function parseDescription(xml: string, location: URL): DescriptionResult {
  const doc = parseXml(xml, DESCRIPTION_MAX_BYTES);
  if (!doc.ok) return { ok: false, why: doc.why };
  const root = child(doc.root, 'root');
  if (root === undefined) return { ok: false, why: 'no <root> element' };
  const rejected: string[] = [];
  let base = location;
  const urlBase = text(child(root, 'URLBase'), 512);
  if (urlBase) {
    const u = confineUrl(urlBase, location, location);
    if (u) base = u;
    else rejected.push(`URLBase ${urlBase.slice(0, 80)} (not on ${location.host})`);
  }
  const top = child(root, 'device');
  if (top === undefined) return { ok: false, why: 'no root <device>' };
  const igdMatch = igdRe.exec(text(child(top, 'deviceType')) ?? '');
  const services: IgdService[] = [];
  let seen = 0;
  const walk = (device: XmlNode, depth: number): void => {
    if (depth > 6 || ++seen > MAX_DEVICES) return;
    for (const svc of children(child(device, 'serviceList'), 'service')) {
      const serviceType = text(child(svc, 'serviceType')) ?? '';
      const m = serviceRe.exec(serviceType);
      if (!m) continue;
      const kind = m[1] as ServiceKind;
      const version = Number(m[2]);
      if ((kind === 'WANPPPConnection' || kind === 'WANIPv6FirewallControl') && version !== 1) continue;
      if (kind === 'WANIPConnection' && version !== 1 && version !== 2) continue;
      const ref = text(child(svc, 'controlURL'), 512) ?? '';
      const controlUrl = confineUrl(ref, base, location);
      if (!controlUrl) { rejected.push(`${serviceType} controlURL ${ref.slice(0, 80)}`); continue; }
      const eventRef = text(child(svc, 'eventSubURL'), 512) ?? '';
      const eventSubUrl = eventRef ? confineUrl(eventRef, base, location) : undefined;
      if (services.length < 16) services.push({ kind, serviceType, version, controlUrl, ...(eventSubUrl ? { eventSubUrl } : {}) });
    }
    for (const d of children(child(device, 'deviceList'), 'device')) walk(d, depth + 1);
  };
  walk(top, 0);
  return {
    ok: true,
    description: {
      location,
      igdVersion: igdMatch ? Number(igdMatch[1]) : 0,
      friendlyName: text(child(top, 'friendlyName'), 64) ?? '',
      services,
      rejected,
    },
  };
}
