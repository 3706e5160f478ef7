/**
 * What the schema knows about its keys, read off the zod schema itself so it cannot drift:
 * every key name, and the kind of value each key holds. The environment layer uses it to turn
 * `DDNS_RECORDS_0_API_TOKEN_FILE` into `records[0].apiTokenFile` and "2" into 2 where a number belongs.
 */
import type { z } from 'zod';
import { configObject } from './schema.js';

export type LeafKind = 'string' | 'number' | 'boolean' | 'number[]' | 'string[]' | 'object' | 'object[]';

interface Def { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[]; innerType?: z.ZodType; in?: z.ZodType; values?: unknown[] }

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(s: z.ZodType): z.ZodType {
  let d = defOf(s);
  while (['optional', 'default', 'prefault', 'nullable', 'pipe', 'readonly', 'nonoptional', 'catch'].includes(d.type)) {
    const next = d.innerType ?? d.in;
    if (!next) break;
    s = next;
    d = defOf(s);
  }
  return s;
}

function kindOf(s: z.ZodType): LeafKind {
  const d = defOf(unwrap(s));
  switch (d.type) {
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    case 'object': case 'union': return 'object';
    case 'literal': return typeof d.values?.[0] === 'number' ? 'number' : 'string';
    case 'array': {
      const e = kindOf(d.element as z.ZodType);
      return e === 'number' ? 'number[]' : e === 'object' ? 'object[]' : 'string[]';
    }
    default: return 'string';
  }
}

function walk(s: z.ZodType, into: Map<string, LeafKind>): void {
  const d = defOf(unwrap(s));
  if (d.type === 'object' && d.shape) {
    for (const [key, child] of Object.entries(d.shape)) {
      if (!into.has(key)) into.set(key, kindOf(child));
      walk(child, into);
    }
  } else if (d.type === 'array' && d.element) walk(d.element, into);
  else if (d.type === 'union' && d.options) for (const o of d.options) walk(o, into);
}

let cache: Map<string, LeafKind> | undefined;

/** Every key name that appears anywhere in the configuration, with the kind of value it takes. */
export function knownKeys(): Map<string, LeafKind> {
  if (!cache) {
    cache = new Map();
    walk(configObject, cache);
  }
  return cache;
}

/** The keys valid directly inside the object at `path` (for "unknown key" messages), if known. */
export function keysAt(path: readonly PropertyKey[], input: unknown): string[] | undefined {
  let s: z.ZodType = configObject;
  let value: unknown = input;
  for (const seg of path) {
    const d = defOf(unwrap(s));
    if (d.type === 'array' && d.element) { s = d.element; value = (value as unknown[] | undefined)?.[Number(seg)]; continue; }
    const obj = objectFor(s, value);
    const child = obj?.[String(seg)];
    if (!child) return undefined;
    s = child;
    value = (value as Record<string, unknown> | undefined)?.[String(seg)];
  }
  const shape = objectFor(s, value);
  return shape ? Object.keys(shape) : undefined;
}

/** The shape of an object schema, or of the union branch the value selects (by `type`/`provider`). */
function objectFor(s: z.ZodType, value: unknown): Record<string, z.ZodType> | undefined {
  const d = defOf(unwrap(s));
  if (d.type === 'object') return d.shape;
  if (d.type === 'union' && d.options) {
    const v = value as Record<string, unknown> | undefined;
    for (const o of d.options) {
      const shape = defOf(unwrap(o)).shape;
      if (!shape) continue;
      const disc = ['provider', 'type'].find((k) => k in shape);
      const lit = disc ? defOf(unwrap(shape[disc] as z.ZodType)).values?.[0] : undefined;
      if (disc && v && v[disc] === lit) return shape;
    }
  }
  return undefined;
}
