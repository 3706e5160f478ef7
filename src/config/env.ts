/**
 * The environment layer (the Docker case): `DDNS_<PATH>` overrides the file, where PATH is the key path
 * in SCREAMING_SNAKE with array indices as numbers:
 *
 *   DDNS_IP_FAMILIES=4,6            → ip.families = [4, 6]
 *   DDNS_IP_QUORUM=2                → ip.quorum = 2
 *   DDNS_RECORDS_0_PROVIDER=duckdns → records[0].provider = "duckdns"
 *   DDNS_RECORDS_0_DOMAINS=myhome   → records[0].domains = ["myhome"]
 *   DDNS_RECORDS_0_TOKEN_FILE=/run/secrets/duckdns → records[0].tokenFile
 *   DDNS_FORWARDS='[{"internalPort":22,"externalPort":2222}]'  (a JSON value sets a whole subtree)
 *
 * Values are converted by the kind the schema gives the key (number, boolean, comma list).
 * Not settings paths: DDNS_CONFIG (the config file), DDNS_LOG_LEVEL, DDNS_PORTMAP_LEDGER (where `ddns map`
 * remembers its own mappings) and DDNS_MAP_CHECK_MS (how often `map add --keep` checks the router).
 */
import { knownKeys, type LeafKind } from './keys.js';
import { envName } from './plain.js';

export const RESERVED_ENV = new Set(['DDNS_CONFIG', 'DDNS_LOG_LEVEL', 'DDNS_PORTMAP_LEDGER', 'DDNS_MAP_CHECK_MS']);

export interface EnvProblem { variable: string; message: string }
export interface EnvOverride { variable: string; path: (string | number)[]; value: unknown; fromFile: boolean }

/** Splits DDNS_* variables into key paths. Unknown names are problems, never ignored. */
export function parseEnv(env: NodeJS.ProcessEnv): { overrides: EnvOverride[]; problems: EnvProblem[] } {
  const keys = knownKeys();
  const byEnvName = new Map<string, string>();
  for (const k of keys.keys()) byEnvName.set(envName(k), k);
  const overrides: EnvOverride[] = [];
  const problems: EnvProblem[] = [];

  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith('DDNS_') || RESERVED_ENV.has(variable) || raw === undefined) continue;
    const tokens = variable.slice(5).split('_');
    const path: (string | number)[] = [];
    let ok = true;
    for (let i = 0; i < tokens.length; ) {
      const t = tokens[i] as string;
      if (/^\d+$/.test(t)) { path.push(Number(t)); i++; continue; }
      let matched = 0;
      for (let n = Math.min(5, tokens.length - i); n >= 1; n--) {
        const key = byEnvName.get(tokens.slice(i, i + n).join('_'));
        if (key) { path.push(key); matched = n; break; }
      }
      if (!matched) { ok = false; break; }
      i += matched;
    }
    if (!ok || path.length === 0) {
      problems.push({ variable, message: `${variable}: not a ddns setting — names are DDNS_ + the key path, e.g. DDNS_IP_QUORUM, DDNS_RECORDS_0_TOKEN_FILE` });
      continue;
    }
    const last = path[path.length - 1] as string | number;
    const kind = typeof last === 'string' ? keys.get(last) ?? 'string' : 'object';
    overrides.push({ variable, path, value: convert(raw, kind), fromFile: typeof last === 'string' && last.endsWith('File') });
  }
  // Deterministic: shorter paths (whole subtrees) first, then their fields.
  overrides.sort((a, b) => a.path.length - b.path.length || a.variable.localeCompare(b.variable));
  return { overrides, problems };
}

function convert(raw: string, kind: LeafKind): unknown {
  const t = raw.trim();
  if ((t.startsWith('[') || t.startsWith('{')) && kind !== 'string') {
    try { return JSON.parse(t); } catch { return raw; }
  }
  switch (kind) {
    case 'number': return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : raw;
    case 'boolean': return /^(true|1|yes|on)$/i.test(t) ? true : /^(false|0|no|off)$/i.test(t) ? false : raw;
    case 'number[]': return t.split(',').map((x) => (/^\d+$/.test(x.trim()) ? Number(x.trim()) : x.trim()));
    case 'string[]': return t.split(',').map((x) => x.trim()).filter(Boolean);
    default: return raw;
  }
}

/** Writes `value` at `path` into `target`, creating objects and arrays on the way. */
export function setPath(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  path.forEach((seg, i) => {
    if (i === path.length - 1) { node[seg] = value; return; }
    const nextIsIndex = typeof path[i + 1] === 'number';
    const cur = node[seg];
    if (cur === null || typeof cur !== 'object') node[seg] = nextIsIndex ? [] : {};
    node = node[seg] as Record<string | number, unknown>;
  });
}
