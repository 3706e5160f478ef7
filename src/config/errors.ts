/**
 * Configuration problems for people: each names the key path, the bad value (secrets as "***"), and
 * what would be valid. All problems are reported at once.
 */
import type { z } from 'zod';
import { keysAt } from './keys.js';
import { isSecretPath } from './secrets.js';
import { PROVIDERS } from './plain.js';

export interface ConfigProblem {
  /** e.g. `records[1].token`; empty for the file as a whole. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[], readonly source?: string) {
    super(formatProblems(problems, source));
    this.name = 'ConfigError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number' || /^\d+$/.test(String(seg))) out += `[${String(seg)}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

export function formatProblems(problems: ConfigProblem[], source?: string): string {
  const head = `invalid configuration${source ? ` (${source})` : ''}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return [head, ...problems.map((p) => `  ${p.path || '(config)'}: ${p.message}`)].join('\n');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[String(seg)];
  }
  return v;
}

/** A short, safe rendering of a bad value. */
export function showValue(value: unknown, path: readonly PropertyKey[]): string {
  if (isSecretPath(path)) return '"***"';
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function closest(word: string, options: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        (d[i] as number[])[j] = Math.min(
          (d[i - 1] as number[])[j]! + 1,
          (d[i] as number[])[j - 1]! + 1,
          (d[i - 1] as number[])[j - 1]! + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
        );
    return (d[a.length] as number[])[b.length]!;
  };
  const best = options.map((o) => ({ o, d: dist(word, o) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** Turns zod issues into problems, using the raw input to show the bad values. */
export function problemsFromZod(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path;
    const value = valueAt(input, path);
    const shown = showValue(value, path);
    const at = formatPath(path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const valid = keysAt(path, input) ?? [];
          const guess = closest(key, valid);
          out.push({
            path: formatPath([...path, key]),
            message: `unknown key${guess ? ` — did you mean "${guess}"?` : ''} Valid keys here: ${valid.join(', ')}`,
          });
        }
        break;
      case 'invalid_type':
        out.push({
          path: at,
          message: value === undefined ? `missing — required (${issue.expected})` : `expected ${issue.expected}, got ${typeName(value)} ${shown}`,
        });
        break;
      case 'invalid_union': {
        const last = path[path.length - 1];
        const disc = value && typeof value === 'object' ? ('provider' in value ? 'provider' : 'type' in value ? 'type' : undefined) : undefined;
        if ((String(last) === 'provider' || String(last) === 'type') && path.length > 1) {
          const valid = String(last) === 'provider' ? PROVIDERS.join(', ') : 'http, dns, stun, upnp, natpmp, pcp, interface, static';
          out.push({ path: at, message: `${shown} is not a known ${String(last)} — valid: ${valid}` });
        } else if (disc) {
          const bad = (value as Record<string, unknown>)[disc];
          const valid = disc === 'provider' ? PROVIDERS.join(', ') : 'http, dns, stun, upnp, natpmp, pcp, interface, static';
          out.push({ path: formatPath([...path, disc]), message: `${showValue(bad, [...path, disc])} is not a known ${disc} — valid: ${valid}` });
        } else if (!disc && value && typeof value === 'object') {
          out.push({ path: at, message: 'needs a "provider" (records) or "type" (ip.sources) key' });
        } else {
          out.push({ path: at, message: `${shown} is not valid here` });
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const rel = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
        const what = issue.origin === 'array' ? `must list ${rel} ${String(bound)} item(s)` :
          issue.origin === 'string' ? `must be ${rel} ${String(bound)} characters long` : `must be ${rel} ${String(bound)}`;
        out.push({ path: at, message: `${what}, got ${shown}` });
        break;
      }
      case 'invalid_value':
        out.push({ path: at, message: `${shown} is not valid — one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` });
        break;
      case 'invalid_format':
      case 'custom':
      default: {
        const msg = issue.message.replace(/^Invalid input: /, '');
        out.push({ path: at, message: value === undefined || issue.code === 'custom' && /^(would|maps|opens|is required)/.test(msg) ? msg : `${msg}, got ${shown}` });
      }
    }
  }
  return out;
}
