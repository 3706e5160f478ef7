/**
 * A GET from inside the lab's LAN host (curl in its namespace), for the daemon's server there — the
 * process under test may be the TypeScript source or the image's container sharing that namespace.
 */
import type { Lab } from './lab.js';

export async function lanGet(lab: Lab, listen: string, path: string): Promise<{ status: number; body: string }> {
  const r = await lab.exec('lan', ['curl', '-s', '-m', '3', '-o', '-', '-w', '\n%{http_code}', `http://${listen}${path}`], { timeoutMs: 5000 });
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)) || 0, body: r.stdout.slice(0, Math.max(0, cut)) };
}
