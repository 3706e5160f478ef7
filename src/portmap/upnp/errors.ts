/**
 * UPnP errors as values: a SOAP fault's `UPnPError/errorCode` becomes a typed `UpnpError` that callers
 * switch on (docs/protocols.md, "Error codes"). Transport and parse failures are errors of their own kinds, so a
 * router that cannot be reached is never mistaken for a router that said no.
 */

export type UpnpErrorKind =
  | 'invalid-action' // 401: e.g. AddAnyPortMapping on IGD:1
  | 'invalid-args' // 402
  | 'action-failed' // 501
  | 'not-authorized' // 606: IGD2, or secure_mode refusing another InternalClient
  | 'array-index-invalid' // 713: end of the mapping list
  | 'no-such-entry' // 714
  | 'conflict' // 718: in use by another mapping — or secure_mode on IGD1
  | 'same-port-required' // 724
  | 'only-permanent-leases' // 725
  | 'wildcard-remote-host-only' // 726
  | 'wildcard-external-port-only' // 727
  | 'no-port-maps-available' // 728
  | 'conflict-other-mechanism' // 729
  | 'other'; // any other errorCode

const byCode: Readonly<Record<number, UpnpErrorKind>> = {
  401: 'invalid-action', 402: 'invalid-args', 501: 'action-failed', 606: 'not-authorized',
  713: 'array-index-invalid', 714: 'no-such-entry', 718: 'conflict', 724: 'same-port-required',
  725: 'only-permanent-leases', 726: 'wildcard-remote-host-only', 727: 'wildcard-external-port-only',
  728: 'no-port-maps-available', 729: 'conflict-other-mechanism',
};

export type UpnpFailure =
  /** The router answered with a UPnP error. */
  | { kind: 'upnp'; code: number; error: UpnpErrorKind; description: string; action: string }
  /** HTTP failed: unreachable, timeout, too large, refused URL, unexpected status. */
  | { kind: 'transport'; action: string; why: string }
  /** The router answered something that is not a valid reply to this action. */
  | { kind: 'malformed'; action: string; why: string };

export function upnpErrorKind(code: number): UpnpErrorKind {
  return Object.hasOwn(byCode, code) ? (byCode[code] ?? 'other') : 'other';
}

export function upnpFailure(action: string, code: number, description: string): UpnpFailure {
  return { kind: 'upnp', code, error: upnpErrorKind(code), description, action };
}

/** One line for people: `AddPortMapping: UPnP error 718 ConflictInMappingEntry`. */
export function describeUpnpFailure(f: UpnpFailure): string {
  if (f.kind === 'upnp') return `${f.action}: UPnP error ${f.code}${f.description ? ` ${f.description}` : ''}`;
  return `${f.action}: ${f.why}`;
}

export function isUpnpError(f: UpnpFailure, ...kinds: UpnpErrorKind[]): boolean {
  return f.kind === 'upnp' && kinds.includes(f.error);
}
