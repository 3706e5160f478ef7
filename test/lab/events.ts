/** The JSON log events a child process (`ddns run`, `map add --keep`) writes to stderr, for lab tests. */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** JSON log events of a child's stderr, and a wait for the next one named `name` after index `from`. */
export function eventsOf(child: ChildProcess) {
  const events: Array<{ event: string } & Record<string, unknown>> = [];
  const waiters: Array<{ name: string; from: number; match: (e: Record<string, unknown>) => boolean; resolve: () => void }> = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    try { events.push(JSON.parse(l) as { event: string }); } catch { return; }
    for (const w of [...waiters]) if (events.slice(w.from).some((e) => e.event === w.name && w.match(e))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const next = (name: string, from: number, match: (e: Record<string, unknown>) => boolean = () => true) => new Promise<void>((resolve, reject) => {
    if (events.slice(from).some((e) => e.event === name && match(e))) return resolve();
    waiters.push({ name, from, match, resolve });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before ${name}: ${JSON.stringify(events)}`)));
  });
  return { events, next };
}
