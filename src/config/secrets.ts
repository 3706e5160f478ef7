/**
 * Secrets: every secret field `x` (records' password/token/apiToken, probe.token, daemon.notify[].url)
 * may come as `x`, as `xFile` (a path, e.g. a Docker secret), or from the environment as `DDNS_…_X` or
 * `DDNS_…_X_FILE`. Precedence, lowest to highest: the config file, the environment, the environment's
 * `*_FILE` — so a Docker secret always wins. `x` and `xFile` together in one layer are an error.
 *
 * Also the one list of what is secret, used by `config print` and by the logger's redaction.
 */
import { readFileSync } from 'node:fs';

/** Where secrets live: [container path pattern, secret key]. `*` is an array index. */
export const SECRET_FIELDS: readonly (readonly [string, string])[] = [
  ['records.*', 'password'],
  ['records.*', 'token'],
  ['records.*', 'apiToken'],
  ['records.*', 'keySecret'],
  ['records.*', 'url'],
  ['records.*', 'apiKey'],
  ['records.*', 'secretApiKey'],
  ['records.*', 'token6'],
  ['probe', 'token'],
  ['daemon.notify.*', 'url'],
  ['daemon.notify.*', 'token'],
  ['daemon.notify.*', 'botToken'],
  ['tunnels.*', 'identity'],
];

/** Objects whose every value is a secret (a custom record's headers may carry `Authorization`). */
export const SECRET_MAPS: readonly (readonly [string, string])[] = [
  ['records.*', 'headers'],
];

/** Is the value at this key path a secret? */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const parts = path.map(String);
  const key = parts[parts.length - 1] ?? '';
  const container = parts.slice(0, -1).map((p) => (/^\d+$/.test(p) ? '*' : p)).join('.');
  // `passwordFile` is a path, not a secret: only the value keys are.
  return SECRET_FIELDS.some(([c, k]) => c === container && k === key);
}

export type Layer = 'file' | 'env' | 'envFile';
export interface SecretProblem { path: (string | number)[]; message: string }

function containers(cfg: Record<string, unknown>, pattern: string): { obj: Record<string, unknown>; path: (string | number)[] }[] {
  let level: { obj: unknown; path: (string | number)[] }[] = [{ obj: cfg, path: [] }];
  for (const seg of pattern.split('.')) {
    const next: { obj: unknown; path: (string | number)[] }[] = [];
    for (const { obj, path } of level) {
      if (seg === '*') {
        if (Array.isArray(obj)) obj.forEach((v, i) => next.push({ obj: v, path: [...path, i] }));
      } else if (obj && typeof obj === 'object' && seg in obj) {
        next.push({ obj: (obj as Record<string, unknown>)[seg], path: [...path, seg] });
      }
    }
    level = next;
  }
  return level.filter((l): l is { obj: Record<string, unknown>; path: (string | number)[] } =>
    !!l.obj && typeof l.obj === 'object' && !Array.isArray(l.obj));
}

/**
 * Resolves every secret in place: reads files, applies precedence, removes the `xFile` keys.
 * `layers` says which layer set each key path (joined with '.'); unknown paths count as 'file'.
 */
export function resolveSecrets(
  cfg: Record<string, unknown>,
  layers: Map<string, Layer>,
  readText: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): SecretProblem[] {
  const problems: SecretProblem[] = [];
  const rank: Record<Layer, number> = { file: 0, env: 1, envFile: 2 };
  for (const [pattern, key] of SECRET_FIELDS) {
    for (const { obj, path } of containers(cfg, pattern)) {
      const fileKey = `${key}File`;
      const hasValue = obj[key] !== undefined;
      const hasFile = obj[fileKey] !== undefined;
      if (!hasValue && !hasFile) continue;
      const layerOf = (k: string): Layer => layers.get([...path, k].join('.')) ?? 'file';
      const vLayer = hasValue ? layerOf(key) : undefined;
      const fLayer = hasFile ? layerOf(fileKey) : undefined;
      if (vLayer && fLayer && rank[vLayer] === rank[fLayer] && vLayer === 'file') {
        problems.push({ path: [...path, fileKey], message: `set either ${key} or ${fileKey}, not both` });
        continue;
      }
      const useFile = hasFile && (!vLayer || rank[fLayer as Layer] >= rank[vLayer]);
      if (useFile) {
        const file = obj[fileKey];
        if (typeof file !== 'string' || file === '') {
          problems.push({ path: [...path, fileKey], message: 'must be a file path' });
          continue;
        }
        try {
          const text = readText(file).replace(/\r?\n$/, '');
          if (text === '') problems.push({ path: [...path, fileKey], message: `file "${file}" is empty — it must hold the ${key}` });
          obj[key] = text;
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'unreadable';
          problems.push({ path: [...path, fileKey], message: `cannot read "${file}" (${code}) — the file must exist and be readable by this user` });
        }
      }
      delete obj[fileKey];
    }
  }
  return problems;
}

/** Replaces every secret value in a config-shaped object with "***", in place; returns it. */
export function redactSecrets<T extends Record<string, unknown>>(cfg: T): T {
  for (const [pattern, key] of SECRET_FIELDS) {
    for (const { obj } of containers(cfg, pattern)) if (obj[key] !== undefined) obj[key] = '***';
  }
  for (const [pattern, key] of SECRET_MAPS) {
    for (const { obj } of containers(cfg, `${pattern}.${key}`)) for (const k of Object.keys(obj)) obj[k] = '***';
  }
  return cfg;
}

/** A copy of the config with every secret replaced by "***" (for `config print` and logs; no validator loaded). */
export function redactConfig(config: object): unknown {
  return redactSecrets(structuredClone(config) as Record<string, unknown>);
}

/** Every secret value of a loaded configuration (for the logger's literal-value redaction). */
export function secretValuesOf(cfg: object): string[] {
  const out: string[] = [];
  const root = cfg as Record<string, unknown>;
  for (const [pattern, key] of SECRET_FIELDS) {
    for (const { obj } of containers(root, pattern)) if (typeof obj[key] === 'string') out.push(obj[key]);
  }
  for (const [pattern, key] of SECRET_MAPS) {
    for (const { obj } of containers(root, `${pattern}.${key}`)) for (const v of Object.values(obj)) if (typeof v === 'string') out.push(v);
  }
  return out;
}
