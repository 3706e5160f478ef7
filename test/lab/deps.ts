/**
 * The lab's Debian packages, made sure of before any namespace is touched: every lab start (tests,
 * `npm run lab`, the bench) goes through here, so a fresh machine needs no step by hand. The list and
 * the install live in scripts/lab-deps.sh (also `npm test`'s pretest); this runs it and turns its
 * answer into an error that names the missing packages and the command that installs them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/lab-deps.sh', import.meta.url));

let ensured = false;

/** Installs what is missing (as root) or throws with the script's message (not root). Once per process. */
export function ensureLabPackages(): void {
  if (ensured) return;
  const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  if (r.status !== 0) {
    const said = (r.stderr ?? '').trim() || `scripts/lab-deps.sh exited ${r.status ?? r.signal}`;
    throw new Error(said);
  }
  if (r.stderr) process.stderr.write(r.stderr);
  ensured = true;
}
