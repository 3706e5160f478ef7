/**
 * Live labs of this process, and the process handlers that tear them down whatever happens:
 * SIGINT/SIGTERM/SIGHUP tear down asynchronously and then exit with the signal's status; the 'exit'
 * event (normal end, uncaught exception, process.exit) tears down synchronously. A SIGKILL cannot be
 * caught: the next lab start's sweeper (netns.ts) removes what such a run left.
 */

export interface Teardown {
  id: string;
  down(): Promise<void>;
  downSync(): void;
}

const live = new Map<string, Teardown>();
let installed = false;

export function register(t: Teardown): void {
  live.set(t.id, t);
  install();
}

export function unregister(id: string): void {
  live.delete(id);
}

export function liveLabs(): string[] {
  return [...live.keys()];
}

function install(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals, status: number) => {
    process.stderr.write(`\n[lab] ${signal}: tearing down ${live.size} lab(s)\n`);
    const all = Promise.allSettled([...live.values()].map((t) => t.down()));
    const bound = new Promise((r) => setTimeout(r, 8_000).unref());
    void Promise.race([all, bound]).finally(() => process.exit(status));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
  process.on('exit', () => {
    for (const t of live.values()) {
      try { t.downSync(); } catch { /* best effort: the sweeper is the second net */ }
    }
    live.clear();
  });
}
