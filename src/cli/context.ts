/**
 * What every command action needs: the global options, the loaded configuration and a logger, and one
 * place that turns failures into the contract's exit codes (0 ok, 1 a check/step/record failed,
 * 2 usage or configuration error).
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { secretValuesOf } from '../config/secrets.js';
import type { Logger } from '../log.js';

export interface GlobalOptions {
  config?: string;
  json: boolean;
  verbose: boolean;
  logLevel?: string;
  color: boolean;
}

export interface Context {
  opts: GlobalOptions;
  config: Config;
  configSource?: string;
  log: Logger;
}

/** Exit codes of the CLI contract. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure that already explains itself to the user; `code` is the exit code. */
export class CliError extends Error {
  constructor(message: string, readonly code: number = EXIT.failed) {
    super(message);
    this.name = 'CliError';
  }
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ config?: string; json?: boolean; verbose?: boolean; logLevel?: string; color?: boolean }>();
  const color = o.color !== false && !process.env.NO_COLOR;
  return { ...(o.config ? { config: o.config } : {}), json: o.json === true, verbose: o.verbose === true, ...(o.logLevel ? { logLevel: o.logLevel } : {}), color };
}

/** The loaded configuration and the file it came from, if any. */
export interface LoadedConfig { config: Config; source?: string }

/**
 * Reads and validates the configuration (`-c FILE`, else DDNS_CONFIG, else the search). An invalid one
 * is a CliError with exit code 2 and every problem listed. Two exist: in this process (config-load.ts,
 * every command but `run`) and in a short-lived child (config-child.ts, `run`: zod stays out of the daemon).
 */
export type ConfigLoader = (file: string | undefined) => Promise<LoadedConfig>;

/** Config and logger for a command, the config from `load`. A bad config becomes a CliError with exit code 2. */
export async function contextWith(cmd: Command, load: ConfigLoader): Promise<Context> {
  const opts = globalOptions(cmd);
  const [{ createLogger, addSecrets, LEVELS }, { redactConfig }] = await Promise.all([import('../log.js'), import('../config/secrets.js')]);
  const level = opts.logLevel ?? process.env.DDNS_LOG_LEVEL ?? (opts.verbose ? 'debug' : 'info');
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new CliError(`--log-level: "${level}" is not a level — one of ${LEVELS.join(', ')}`, EXIT.usage);
  }
  const loaded = await load(opts.config);
  addSecrets(secretValues(loaded.config));
  const log = createLogger({ level: level as never, color: opts.color });
  log.debug({ event: 'config.loaded', source: loaded.source ?? null, config: redactConfig(loaded.config) });
  return { opts, config: loaded.config, ...(loaded.source ? { configSource: loaded.source } : {}), log };
}

/** Every secret value in the config, for the logger's last-resort redaction. */
export function secretValues(config: Config): string[] {
  return secretValuesOf(config);
}

/**
 * Wraps a command action: runs it, sets process.exitCode from its result, prints CliErrors plainly
 * (and as `{ "error": … }` on stdout with --json), and reports bugs with a stack under --verbose.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (err) {
      const json = globalOptions(cmd).json;
      const message = err instanceof Error ? err.message : String(err);
      if (json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
      process.stderr.write(`ddns: ${message}\n`);
      if (!(err instanceof CliError) && globalOptions(cmd).verbose && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
      process.exitCode = err instanceof CliError ? err.code : EXIT.failed;
    }
  };
}
