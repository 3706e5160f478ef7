/**
 * SOAP for UPnP control: build an action request, parse its response or fault. Pure functions plus one
 * thin `soapCall` that posts through upnp/http.ts.
 *
 * Contract: arguments go out in the order given (callers pass spec order), every value XML-escaped, the
 * Content-Length counted in bytes (http.ts); the SOAPAction header names the service type exactly as the
 * description spelled it. A reply is either the action's out-arguments (validated strings, capped) or a
 * `UpnpFailure` — a fault's errorCode becomes a typed UPnP error; never an exception.
 */
import { escapeXml, parseXml, path, child, text, type XmlNode } from './xml.js';
import { upnpFailure, type UpnpFailure } from './errors.js';
import { httpRequest } from './http.js';

export type SoapArgs = ReadonlyArray<readonly [name: string, value: string]>;
export type SoapResult = { ok: true; values: ReadonlyMap<string, string> } | { ok: false; failure: UpnpFailure };

/** Cap for a SOAP reply body; listing replies (IGD2 GetListOfPortMappings) get LIST_MAX_BYTES. */
export const SOAP_MAX_BYTES = 64 * 1024;
export const LIST_MAX_BYTES = 1024 * 1024;

export function buildEnvelope(serviceType: string, action: string, args: SoapArgs): string {
  const body = args.map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  return '<?xml version="1.0" encoding="utf-8"?>\r\n'
    + '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    + `<s:Body><u:${action} xmlns:u="${escapeXml(serviceType)}">${body}</u:${action}></s:Body></s:Envelope>\r\n`;
}

export function soapHeaders(serviceType: string, action: string): Record<string, string> {
  return { 'content-type': 'text/xml; charset="utf-8"', soapaction: `"${serviceType}#${action}"` };
}

/** Parses a SOAP reply (HTTP status + body) to `action`. Pure. */
export function parseSoapResponse(action: string, status: number, body: string, maxValueChars = 1024): SoapResult {
  const doc = parseXml(body);
  if (!doc.ok) {
    if (status !== 200) return { ok: false, failure: { kind: 'transport', action, why: `HTTP ${status}` } };
    return { ok: false, failure: { kind: 'malformed', action, why: doc.why } };
  }
  const bodyNode = path(doc.root, 'Envelope', 'Body');
  const fault = child(bodyNode, 'Fault');
  if (fault !== undefined) {
    const err = path(fault, 'detail', 'UPnPError');
    const codeText = text(child(err, 'errorCode'), 8);
    const code = codeText !== undefined && /^\d{1,4}$/.test(codeText) ? Number(codeText) : undefined;
    if (code === undefined) return { ok: false, failure: { kind: 'malformed', action, why: 'SOAP fault without a UPnP errorCode' } };
    return { ok: false, failure: upnpFailure(action, code, text(child(err, 'errorDescription'), 120) ?? '') };
  }
  if (status !== 200) return { ok: false, failure: { kind: 'transport', action, why: `HTTP ${status}` } };
  const response: XmlNode | undefined = child(bodyNode, `${action}Response`);
  if (response === undefined) return { ok: false, failure: { kind: 'malformed', action, why: `no ${action}Response in the reply` } };
  const values = new Map<string, string>();
  if (response !== null && typeof response === 'object') {
    for (const key of Object.keys(response)) {
      const v = text((response as Record<string, unknown>)[key], maxValueChars);
      if (v !== undefined) values.set(key, v);
    }
  }
  return { ok: true, values };
}

export interface SoapCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
  maxValueChars?: number;
  localAddress?: string;
}

/** POSTs `action` to `controlUrl` (already confined to the device's host:port by description.ts). */
export async function soapCall(controlUrl: URL, serviceType: string, action: string, args: SoapArgs, opts: SoapCallOptions = {}): Promise<SoapResult> {
  const res = await httpRequest(controlUrl, {
    method: 'POST',
    headers: soapHeaders(serviceType, action),
    body: buildEnvelope(serviceType, action, args),
    maxBytes: opts.maxBytes ?? SOAP_MAX_BYTES,
    ...(opts.signal ? { signal: opts.signal } : {}),
    timeoutMs: opts.timeoutMs ?? 8000,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  if (!res.ok) return { ok: false, failure: { kind: 'transport', action, why: res.why } };
  return parseSoapResponse(action, res.status, res.body, opts.maxValueChars);
}
