/**
 * Running the real CLI from source in a child process, from any working directory (tests use temp dirs
 * as cwd so that config search starts clean). `node --import tsx` resolves tsx from the cwd, so the
 * loader is given as an absolute URL.
 */
import { spawn, spawnSync } from 'node:child_process';

export const TSX_LOADER = import.meta.resolve('tsx');
export const CLI_MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
/** argv prefix that starts the CLI from source: [node, --import, tsx, main.ts]. */
export const DDNS_ARGV = [process.execPath, '--import', TSX_LOADER, CLI_MAIN];

export interface CliResult { code: number | null; stdout: string; stderr: string; out: string }

/** Runs `ddns ...args` synchronously with a minimal environment plus `env`. */
export function ddnsSync(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string }): CliResult {
  const [cmd, ...pre] = DDNS_ARGV as [string, ...string[]];
  const r = spawnSync(cmd, [...pre, ...args], {
    cwd: o.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.env },
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 30_000,
    ...(o.input !== undefined ? { input: o.input } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}\n${r.stderr}` };
}

/** Async variant, for tests that serve something in-process while the CLI runs. */
export function ddns(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  const [cmd, ...pre] = DDNS_ARGV as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: o.cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, out: `${stdout}\n${stderr}` }); });
  });
}
