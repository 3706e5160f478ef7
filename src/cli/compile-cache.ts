/**
 * Node's on-disk compile cache (node:module `enableCompileCache`, Node ≥ 22.1) for the modules a command
 * loads after this call: the next run reads V8's code cache instead of compiling the bundle's chunks again.
 *
 * Contract: never throws and never prints — a cache that cannot be used (old Node, unwritable or missing
 * home, NODE_DISABLE_COMPILE_CACHE=1) only costs the compilation. The cache lives in the user's own cache
 * directory ($XDG_CACHE_HOME/ddns/compile-cache, else ~/.cache/ddns/compile-cache; an absolute
 * XDG_CACHE_HOME only), never in a shared directory such as /tmp where another user could plant entries.
 * A NODE_COMPILE_CACHE the user set wins (Node has then enabled it already). Node keys entries by its own
 * version and each file's content, so an upgraded ddns or Node never runs stale code.
 */
/** Where the cache goes for this environment; undefined when there is no private place for it. Pure. */
export function compileCacheDir(env: NodeJS.ProcessEnv, home: string | undefined, join: (...p: string[]) => string): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'ddns', 'compile-cache');
  if (!home || !home.startsWith('/') || home === '/') return undefined;
  return join(home, '.cache', 'ddns', 'compile-cache');
}

/** Turns the cache on when it can; returns the directory in use (undefined when off). */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const mod = process.getBuiltinModule('node:module');
    if (typeof mod.enableCompileCache !== 'function' || env.NODE_COMPILE_CACHE) return undefined;
    const { homedir } = process.getBuiltinModule('node:os');
    const { join } = process.getBuiltinModule('node:path');
    let home: string | undefined;
    try { home = homedir(); } catch { home = undefined; }
    const dir = compileCacheDir(env, home, join);
    if (dir === undefined) return undefined;
    const r = mod.enableCompileCache(dir);
    return r.directory;
  } catch {
    return undefined;
  }
}
