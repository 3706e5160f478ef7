/**
 * `ddns run` loads its configuration in a short-lived child process — ddns itself, the same node and
 * entry with a hidden command (config-load.ts) — so the validator (zod), cosmiconfig and js-yaml never
 * load into the daemon: measured, they stay resident as ~15 MiB of RSS (bench/daemon.ts, idle RSS).
 * The child inherits the environment and the working directory, so `-c`, DDNS_CONFIG, DDNS_* and *_FILE
 * secrets resolve exactly as in-process; the validated config comes back over the IPC channel (secrets
 * never on the command line, never logged). A configuration error comes back as its message and becomes
 * the same CliError (exit code 2) as an in-process load; at a SIGHUP the daemon logs it and keeps the old
 * config. Anything else — the child dies, answers nothing, or takes longer than `timeoutMs` — is an Error.
 */
import type { Config } from '../config/schema.js';
import { CliError, type LoadedConfig } from './context.js';

/** The hidden command the child runs. */
export const CHILD_COMMAND = '_load-config';

/** What the child sends: the loaded config, or the configuration error (its message, its exit code). */
export type ChildAnswer = { ok: true; config: Config; source?: string } | { ok: false; message: string; code: number };

export interface ChildOptions {
  /** How long the child may take (default 60 s: a `.ts` config is compiled on a busy machine). */
  timeoutMs?: number;
  /** The command line of ddns itself; default this process's node, its options and entry. */
  command?: { execPath: string; args: string[] };
}

/** Loads and validates the configuration (`-c file`, else DDNS_CONFIG, else the search) in a child process. */
export async function loadInChild(file: string | undefined, o: ChildOptions = {}): Promise<LoadedConfig> {
  const { spawn } = await import('node:child_process');
  const self = o.command ?? { execPath: process.execPath, args: [...process.execArgv, process.argv[1] ?? ''] };
  const timeoutMs = o.timeoutMs ?? 60_000;
  const child = spawn(self.execPath, [...self.args, ...(file !== undefined ? ['-c', file] : []), CHILD_COMMAND], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    signal: AbortSignal.timeout(timeoutMs),
    killSignal: 'SIGKILL',
  });
  return new Promise<LoadedConfig>((resolve, reject) => {
    let answer: ChildAnswer | undefined;
    let failed: Error | undefined;
    child.on('message', (m: ChildAnswer) => { answer ??= m; });
    child.on('error', (err) => {
      failed = err.name === 'AbortError' ? new Error(`the configuration loader (a child process) did not answer within ${timeoutMs / 1000} s`) : err;
    });
    child.on('close', (code, signal) => {
      if (answer?.ok) resolve(answer.source ? { config: answer.config, source: answer.source } : { config: answer.config });
      else if (answer) reject(new CliError(answer.message, answer.code));
      else reject(failed ?? new Error(`the configuration loader (a child process) exited with ${signal ?? `code ${code}`} before answering`));
    });
  });
}
