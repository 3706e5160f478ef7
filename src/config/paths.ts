/**
 * Where users keep ddns's files when they name none (XDG Base Directory conventions): the config file is
 * looked for in the working directory, then the user's config directory, then the system's; the state
 * file lives in the user's state directory. Pure: the environment is passed in.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The system-wide configuration directory. */
export const SYSTEM_CONFIG_DIR = '/etc/ddns';

/** `$XDG_…_HOME` when set to an absolute path (the spec ignores relative ones), else `~/FALLBACK`. */
function xdgDir(env: NodeJS.ProcessEnv, variable: 'XDG_CONFIG_HOME' | 'XDG_STATE_HOME', fallback: string): string {
  const set = env[variable];
  if (set && isAbsolute(set)) return set;
  return join(env.HOME || homedir(), fallback);
}

/**
 * Where a config file is looked for when none is named, in order: the working directory, then
 * `$XDG_CONFIG_HOME/ddns/` (default `~/.config/ddns/`), then `/etc/ddns/`. The first file found is used
 * whole (files are not merged).
 */
export function configSearchDirs(cwd: string, env: NodeJS.ProcessEnv, systemDir = SYSTEM_CONFIG_DIR): string[] {
  const dirs = [resolve(cwd), join(xdgDir(env, 'XDG_CONFIG_HOME', '.config'), 'ddns'), systemDir];
  return dirs.filter((d, i) => dirs.indexOf(d) === i);
}

/** The state file when the config names none: `$XDG_STATE_HOME/ddns/state.json` (default `~/.local/state/ddns/state.json`). */
export function defaultStatePath(env: NodeJS.ProcessEnv): string {
  return join(xdgDir(env, 'XDG_STATE_HOME', '.local/state'), 'ddns', 'state.json');
}

