/**
 * The logger: pino to stderr (stdout belongs to command output and `--json`), JSON lines by default,
 * human-readable when stderr is a terminal.
 *
 * Secrets are redacted at the source (nothing should log them) and here as the second net, three ways:
 * known secret keys anywhere in a log object (pino `redact`); URL credentials, `token=`-style query
 * parameters and `Authorization` values inside any string; and the literal secret values of the loaded
 * configuration wherever they appear (`addSecrets`).
 */
import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const SECRET_KEYS = ['password', 'token', 'apiToken', 'apitoken', 'identity', 'privateKey', 'secret', 'keySecret', 'secretApiKey', 'apiKey', 'apikey', 'secretapikey', 'token6', 'auth-api-token', 'botToken', 'authorization', 'Authorization', 'cookie', 'passwordFile'];
const REDACT_PATHS = [
  ...SECRET_KEYS.filter((k) => k !== 'passwordFile'),
  ...SECRET_KEYS.filter((k) => k !== 'passwordFile').map((k) => `*.${k}`),
  'headers.authorization', '*.headers.authorization', 'headers["proxy-authorization"]',
];

const knownSecrets = new Set<string>();

/** Registers secret values (from the config) to be cut out of every later log line. */
export function addSecrets(values: Iterable<string | undefined>): void {
  for (const v of values) if (v && v.length >= 4) knownSecrets.add(v);
}

/** Removes credentials from free text: URL userinfo, secret query parameters, bearer/basic values, known secrets. */
export function scrubText(text: string): string {
  let out = text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1***:***@')
    .replace(/([?&](?:token|password|pass|pwd|key|apikey|api_key|secret|auth)=)[^&\s#"']*/gi, '$1***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***');
  for (const s of knownSecrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

function scrubValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrubText(v);
  if (depth > 6 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return { type: v.name, message: scrubText(v.message), ...(v.stack ? { stack: scrubText(v.stack) } : {}) };
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubValue(x, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (default: when stderr is a TTY). */
  pretty?: boolean;
  color?: boolean;
  /** Where to write (default: stderr, synchronously so nothing is lost at exit). */
  destination?: NodeJS.WritableStream | { write(s: string): unknown };
}

/** The readable `msg` of an event that has none: its name in words (`daemon.started` → "daemon started"). */
export function eventMessage(event: string): string {
  return event.replace(/[._]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '***' },
    formatters: { log: (obj) => scrubValue(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a));
        // An event logged without a message gets a readable one from its name: `record.updated` → "record updated".
        const [first] = scrubbed;
        if (scrubbed.length === 1 && first !== null && typeof first === 'object' && typeof (first as { event?: unknown }).event === 'string') {
          scrubbed.push(eventMessage((first as { event: string }).event));
        }
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(options, opts.destination as pino.DestinationStream);
  if (pretty) {
    // Loaded only for a terminal: the JSON path (Docker, pipes) never pays for it.
    const require = createRequireSafe();
    let pinoPretty: ((o: object) => pino.DestinationStream) | undefined;
    try { pinoPretty = require?.('pino-pretty') as typeof pinoPretty; } catch { pinoPretty = undefined; }
    if (pinoPretty) {
      return pino(options, pinoPretty({ destination: 2, sync: true, colorize: opts.color ?? true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
    }
  }
  return pino(options, pino.destination({ fd: 2, sync: true }));
}

function createRequireSafe(): ((id: string) => unknown) | undefined {
  try {
    return createRequire(import.meta.url);
  } catch {
    return undefined;
  }
}
