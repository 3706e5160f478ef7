/**
 * Hardened XML for UPnP: the only place that turns bytes from a router into an XML tree.
 *
 * Contract: `parseXml` never throws and never expands entities defined by the document — any `<!DOCTYPE`
 * or `<!ENTITY` (UPnP never needs either) is rejected before the parser sees the text; input is capped in
 * length and nesting. The tree it returns is read only through `child`, `children` and `text`, which look
 * at own properties only (no prototype lookups) and cap and clean every string they hand out.
 */
import { XMLParser } from 'fast-xml-parser';
import { printable } from '../../net/text.js';

export type XmlResult = { ok: true; root: XmlNode } | { ok: false; why: string };
/** An element: its children by local name (namespace prefixes removed), or its text. */
export type XmlNode = unknown;

/** Default cap on input size, in characters (callers already cap bytes on the wire). */
export const MAX_XML_CHARS = 1024 * 1024;

const forbidden = /<!\s*(DOCTYPE|ENTITY)/i;

let parser: XMLParser | undefined;
function getParser(): XMLParser {
  parser ??= new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: 32,
    // Predefined entities (&lt; &amp; …) only: the DOCTYPE check above means none can be declared.
    processEntities: { enabled: true, maxEntityCount: 0, maxTotalExpansions: 100_000, maxExpandedLength: MAX_XML_CHARS },
    htmlEntities: false,
  });
  return parser;
}

/** Parses a UPnP document (description, SOAP envelope, IGD2 port-listing). */
export function parseXml(text: string, maxChars = MAX_XML_CHARS): XmlResult {
  if (text.length > maxChars) return { ok: false, why: `document larger than ${maxChars} characters` };
  if (forbidden.test(text)) return { ok: false, why: 'document contains a DOCTYPE or ENTITY declaration' };
  if (!/<[A-Za-z_]/.test(text)) return { ok: false, why: 'not an XML document' };
  try {
    const root: unknown = getParser().parse(text, true);
    if (root === null || typeof root !== 'object') return { ok: false, why: 'empty document' };
    return { ok: true, root };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, why: `malformed XML: ${clean(msg, 200)}` };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** All children of `node` with local name `name` (arrays flattened); [] when none. */
export function children(node: XmlNode, name: string): XmlNode[] {
  if (!isObject(node) || !Object.hasOwn(node, name)) return [];
  const v = node[name];
  return Array.isArray(v) ? (v as unknown[]) : [v];
}

/** The first child named `name`, or undefined. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Follows a path of names from `node`, first child at each step. */
export function path(node: XmlNode, ...names: string[]): XmlNode | undefined {
  let cur: XmlNode | undefined = node;
  for (const n of names) {
    cur = child(cur, n);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/**
 * The text of an element, cleaned: control characters removed, at most `max` characters.
 * An empty element is ''. An element with children (not text) is undefined.
 */
export function text(node: XmlNode | undefined, max = 256): string | undefined {
  if (node === undefined) return undefined;
  if (node === '' || node === null) return '';
  if (typeof node === 'string') return clean(node, max);
  if (typeof node === 'number' || typeof node === 'boolean') return clean(String(node), max);
  if (isObject(node) && Object.hasOwn(node, '#text')) return text(node['#text'], max);
  return undefined;
}

/** Removes control characters (C0, DEL, C1) and caps the length. */
export function clean(s: string, max: number): string {
  return printable(s, max);
}

/** Escapes text for an XML element's content or attribute value. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
