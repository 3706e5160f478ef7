/**
 * The configuration loaded in this process (every command but `run`), and the child's side of
 * config-child.ts: the hidden command that loads it the same way and hands the result to its parent.
 */
import type { Command } from 'commander';
import { action, CliError, contextWith, EXIT, globalOptions, type Context, type LoadedConfig } from './context.js';
import { CHILD_COMMAND, type ChildAnswer } from './config-child.js';

/** Loads and validates here; a ConfigError becomes a CliError with exit code 2 and its message. */
export async function loadHere(file: string | undefined): Promise<LoadedConfig> {
  const [{ loadConfig }, { ConfigError }] = await Promise.all([import('../config/load.js'), import('../config/errors.js')]);
  try {
    return await loadConfig({ file });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/** Config (loaded in this process) and logger for a command. */
export function loadContext(cmd: Command): Promise<Context> {
  return contextWith(cmd, loadHere);
}

/**
 * The hidden command `ddns [-c FILE] <CHILD_COMMAND>`: only meaningful with an IPC channel to a parent
 * (config-child.ts). It loads the configuration as every command does and sends the validated config,
 * or the configuration error's message, over that channel — never on stdout, never logged.
 */
export function register(program: Command): void {
  program
    .command(CHILD_COMMAND, { hidden: true })
    .action(action(async (_opts: object, cmd: Command) => {
      if (!process.send) throw new CliError(`${CHILD_COMMAND} is internal to \`ddns run\``, EXIT.usage);
      let answer: ChildAnswer;
      try {
        const loaded = await loadHere(globalOptions(cmd).config);
        answer = { ok: true, config: loaded.config, ...(loaded.source ? { source: loaded.source } : {}) };
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        answer = { ok: false, message: err.message, code: err.code };
      }
      await new Promise<void>((resolve, reject) => process.send?.(answer, undefined, {}, (err) => (err ? reject(err) : resolve())));
      process.disconnect?.();
      return answer.ok ? EXIT.ok : answer.code;
    }));
}
