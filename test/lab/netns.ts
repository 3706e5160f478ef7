/**
 * Network namespaces owned by lab runs: names, removal, and the sweeper for runs that died.
 *
 * Every run's namespaces are named `ddl<pid>-<tag>-<host>`, with the pid of the Node process that made
 * them. A run that was killed (SIGKILL, OOM, a runner timeout) leaves its namespaces behind; the next lab
 * start removes every `ddl…` namespace whose owner pid no longer exists — never one of a live run, since
 * several engineers (and several test files) may run labs at the same time.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { alive, run, runSync } from './sh.js';

export const NS_PREFIX = 'ddl';
const NAME_RE = /^ddl(\d+)-([a-z0-9]+)(?:-([a-z]+))?$/;
export const NETNS_ETC = '/etc/netns';

/** A fresh run id for this process: `ddl<pid>-<4 random base36 chars>`. */
export function newRunId(random: () => number = Math.random): string {
  const tag = Array.from({ length: 4 }, () => '0123456789abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 36)] ?? '0').join('');
  return `${NS_PREFIX}${process.pid}-${tag}`;
}

/** The pid that owns a lab name (namespace, /etc/netns dir, run dir), or undefined if it is not one. */
export function ownerOf(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m?.[1] ? Number(m[1]) : undefined;
}

export async function listNamespaces(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list']);
  return parseNetnsList(r.stdout);
}

export function listNamespacesSync(): string[] {
  return parseNetnsList(runSync(['ip', 'netns', 'list']).stdout);
}

/** `ip netns list` prints `name (id: N)` or just `name`, one per line. */
export function parseNetnsList(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.length > 0);
}

/** Kills every process inside the namespace, then deletes it and its /etc/netns entry. Idempotent. */
export async function destroyNamespace(ns: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const pids = (await run(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 20));
  }
  await run(['ip', 'netns', 'del', ns]);
  rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
}

/** Synchronous twin of destroyNamespace, for the process 'exit' handler. */
export function destroyNamespaceSync(ns: string): void {
  const pids = runSync(['ip', 'netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  runSync(['ip', 'netns', 'del', ns]);
  rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
}

/**
 * Removes what runs whose owner process is gone left behind: namespaces (and the processes in them),
 * /etc/netns entries, and run directories under `runsDir` (except those holding a KEEP marker).
 * Returns the names removed.
 */
export async function sweepStale(runsDir?: string): Promise<string[]> {
  const removed: string[] = [];
  const dead = (name: string) => {
    const pid = ownerOf(name);
    return pid !== undefined && !alive(pid);
  };
  for (const ns of await listNamespaces()) {
    if (ns.startsWith(NS_PREFIX) && dead(ns)) { await destroyNamespace(ns); removed.push(ns); }
  }
  if (existsSync(NETNS_ETC)) {
    for (const d of readdirSync(NETNS_ETC)) {
      if (d.startsWith(NS_PREFIX) && dead(d)) { rmSync(join(NETNS_ETC, d), { recursive: true, force: true }); removed.push(`/etc/netns/${d}`); }
    }
  }
  if (runsDir && existsSync(runsDir)) {
    for (const d of readdirSync(runsDir)) {
      if (d.startsWith(NS_PREFIX) && dead(d) && !existsSync(join(runsDir, d, 'KEEP'))) {
        rmSync(join(runsDir, d), { recursive: true, force: true });
        removed.push(join(runsDir, d));
      }
    }
  }
  return removed;
}
