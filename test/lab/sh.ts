/**
 * Running the lab's system tools (ip, nft, dnsmasq, socat, …): bounded, captured, never throwing for a
 * non-zero exit. A command that cannot start or outlives its timeout comes back as a result too
 * (`code` 127 / 124), so callers decide what is fatal.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface RunResult { code: number; stdout: string; stderr: string }

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_CAPTURE = 4 * 1024 * 1024;

/** Runs argv[0] with the rest as arguments; resolves with its exit code and output, never rejects. */
export function run(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return resolve({ code: 127, stdout: '', stderr: 'empty command' });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: o.env ?? process.env,
      cwd: o.cwd,
      detached: true, // own process group: a timeout kills whatever it started too
    });
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      finish({ code: 124, stdout, stderr: `${stderr}\n[lab] ${cmd} timed out after ${o.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` });
    }, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < MAX_CAPTURE) stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < MAX_CAPTURE) stderr += d; });
    child.stdin.on('error', () => { /* the command may exit before reading its input */ });
    child.on('error', (err) => finish({ code: 127, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code, signal) => finish({ code: code ?? (signal ? 128 + 9 : 1), stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** Like run() but fails loudly: for set-up steps whose failure means the lab cannot exist. */
export async function must(argv: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await run(argv, o);
  if (r.code !== 0) {
    throw new Error(`lab: \`${argv.join(' ')}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  }
  return r.stdout;
}

/** Synchronous form, for the process 'exit' handler where nothing asynchronous runs any more. */
export function runSync(argv: readonly string[], timeoutMs = 5_000): RunResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return { code: 127, stdout: '', stderr: 'empty command' };
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Signals a process group (or the process alone if it has none); ignores processes already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try { process.kill(-pid, signal); } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

/** Whether a process with this pid exists (any owner). */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Polls `probe` until it returns a value other than undefined, at most `timeoutMs`; the wait between
 * polls grows from 5 ms to 100 ms. Rejects with `what` in the message when time runs out.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 5;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`lab: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(1, deadline - Date.now()))));
    pause = Math.min(100, pause * 2);
  }
}
