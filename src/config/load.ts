/**
 * Loading: file (cosmiconfig, module name `ddns`) < environment (`DDNS_*`) < environment `*_FILE`,
 * then secrets resolved, then the whole validated at once. Returns the config or a ConfigError listing
 * every problem; never a half-valid config.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, formatPath, problemsFromZod, type ConfigProblem } from './errors.js';
import { parseEnv, setPath } from './env.js';
import { resolveSecrets, type Layer } from './secrets.js';
import { configSchema, type Config } from './schema.js';
import { configSearchDirs, defaultStatePath } from './paths.js';

const EXTENSIONS = ['json', 'yaml', 'yml', 'js', 'mjs', 'cjs', 'ts'];

/** File names looked for in the working directory, first match wins. */
export const SEARCH_PLACES = [
  'package.json',
  ...EXTENSIONS.map((x) => `ddns.config.${x}`),
  '.ddnsrc', ...EXTENSIONS.map((x) => `.ddnsrc.${x}`),
];

/** File names looked for in a configuration directory (`~/.config/ddns/`, `/etc/ddns/`). */
export const DIR_SEARCH_PLACES = [...EXTENSIONS.map((x) => `config.${x}`), ...EXTENSIONS.map((x) => `ddns.config.${x}`)];

export interface LoadOptions {
  /** `-c FILE`; else DDNS_CONFIG; else a search: `cwd`, the user's config dir, `systemDir`. */
  file?: string | undefined;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readText?: (path: string) => string;
  /** Default /etc/ddns (tests point it elsewhere). */
  systemDir?: string;
}

/**
 * `.ts` (and `.js`/`.mjs`) config files are imported as they are: Node.js ≥ 22.18 strips TypeScript's
 * types itself, so nothing has to be installed for them. The default export is the configuration; a
 * CommonJS transpiler in front of node (tsx) hands it one level down, under `default` again.
 */
async function loadModule(filepath: string): Promise<unknown> {
  const mod = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
  const d = mod.default;
  if (d !== null && typeof d === 'object' && Object.keys(d).length === 1 && 'default' in d) return (d as { default: unknown }).default;
  return d;
}

export interface Loaded {
  config: Config;
  /** The file the settings came from, if any. */
  source?: string;
}

async function readRaw(opts: LoadOptions): Promise<{ raw: unknown; source?: string }> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.file ?? env.DDNS_CONFIG;
  const { cosmiconfig } = await import('cosmiconfig');
  const loaders = { '.ts': loadModule, '.js': loadModule, '.mjs': loadModule };
  const explorer = (searchPlaces: string[]) => cosmiconfig('ddns', { searchPlaces, searchStrategy: 'none', cache: false, loaders });
  try {
    let result = file ? await explorer(SEARCH_PLACES).load(resolve(cwd, file)) : null;
    if (!file) {
      const [first, ...rest] = configSearchDirs(cwd, env, opts.systemDir);
      result = await explorer(SEARCH_PLACES).search(first);
      for (const dir of rest) result ??= await explorer(DIR_SEARCH_PLACES).search(dir);
    }
    if (!result) return { raw: {} };
    return { raw: result.isEmpty ? {} : result.config, source: result.filepath };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const where = file ? resolve(cwd, file) : cwd;
    const why = e.code === 'ENOENT' ? 'no such file' : (e.message ?? String(err)).split('\n')[0];
    throw new ConfigError([{ path: '', message: `cannot read ${where}: ${why}` }], file ? where : undefined);
  }
}

/** Loads and validates the configuration. Throws ConfigError (exit 2) with every problem found. */
export async function loadConfig(opts: LoadOptions = {}): Promise<Loaded> {
  const { raw, source } = await readRaw(opts);
  const problems: ConfigProblem[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: `the file must hold an object of settings, got ${Array.isArray(raw) ? 'a list' : typeof raw}` }], source);
  }
  const cfg = structuredClone(raw) as Record<string, unknown>;
  const env = opts.env ?? process.env;

  const layers = new Map<string, Layer>();
  const { overrides, problems: envProblems } = parseEnv(env);
  for (const p of envProblems) problems.push({ path: p.variable, message: p.message.replace(`${p.variable}: `, '') });
  for (const o of overrides) {
    setPath(cfg, o.path, o.value);
    layers.set(o.path.join('.'), o.fromFile ? 'envFile' : 'env');
  }
  for (const p of resolveSecrets(cfg, layers, opts.readText ?? ((f) => readFileSync(f, 'utf8')))) {
    problems.push({ path: formatPath(p.path), message: p.message });
  }

  if (cfg.state === undefined) cfg.state = defaultStatePath(env);
  const parsed = configSchema.safeParse(cfg);
  if (!parsed.success) problems.push(...problemsFromZod(parsed.error.issues, cfg));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(dedupe(problems), source);
  return source ? { config: parsed.data, source } : { config: parsed.data };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\n${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
