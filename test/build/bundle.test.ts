/**
 * The published bin is the esbuild bundle (scripts/build.mjs). These tests build it into a temp dir and
 * run it with plain node — no tsx, no node_modules next to it — to prove the bundle is complete, and
 * read esbuild's metafile to prove `ddns --version` loads nothing but the CLI parser.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

interface Meta {
  outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}

let dir = '';
let out = '';
let meta: Meta;

/** Runs the bundle with plain node from a directory that has no node_modules anywhere above it. */
function ddns(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(out, 'ddns.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Output files reachable from the entry through static imports only (what loads before any action runs). */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of meta.outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external) todo.push(imp.path);
    }
  }
  return seen;
}

/** The chunk the entry loads for everything but a bare --version: its one dynamic import. */
function parserChunk(entry: string): string {
  const dynamic = (meta.outputs[entry]?.imports ?? []).filter((imp) => imp.kind === 'dynamic-import' && !imp.external);
  assert.equal(dynamic.length, 1, `the entry should import only the parser lazily: ${JSON.stringify(dynamic)}`);
  return (dynamic[0] as { path: string }).path;
}

/** The npm packages whose code is inside the given output files. */
function packagesIn(files: Iterable<string>): Set<string> {
  const found = new Set<string>();
  for (const f of files) {
    for (const input of Object.keys(meta.outputs[f]?.inputs ?? {})) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m?.[1]) found.add(m[1]);
    }
  }
  return found;
}

describe('the bundle (dist/ddns.mjs)', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ddns-bundle-'));
    out = join(dir, 'dist');
    const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--outdir', out, '--metafile'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `build failed: ${r.stderr}`);
    meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Meta;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--version prints the package version with plain node', () => {
    const r = ddns(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('--help lists the commands and exits 0', () => {
    const r = ddns(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: ddns/);
    assert.match(r.stdout, /\bconfig\b/);
    assert.match(r.stdout, /Exit codes:\n {2}0 .*\n[\s\S]* {2}1 [\s\S]* {2}2 {2}usage or configuration error/);
    assert.match(r.stdout, /Examples:\n {2}ddns check/);
  });

  test('config validate loads a YAML file through the bundled cosmiconfig and zod', () => {
    const file = join(dir, 'ddns.config.yaml');
    writeFileSync(file, 'ip:\n  families: [4]\n  quorum: 1\ndaemon:\n  interval: 60\n');
    const r = ddns(['-c', file, '--json', 'config', 'validate']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { valid: true, source: file });
  });

  test('a ddns.config.ts in ~/.config/ddns is found and loaded by plain node (no TypeScript anywhere); config print names it', () => {
    const home = join(dir, 'home-ts');
    const cwd = join(dir, 'elsewhere');
    mkdirSync(join(home, '.config', 'ddns'), { recursive: true });
    mkdirSync(cwd);
    const file = join(home, '.config', 'ddns', 'ddns.config.ts');
    writeFileSync(file, 'const quorum: number = 3;\nexport default { ip: { quorum } };\n');
    const r = spawnSync(process.execPath, [join(out, 'ddns.mjs'), 'config', 'print'], {
      cwd, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '', HOME: home },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ip: { quorum: number } }).ip.quorum, 3);
    assert.equal((JSON.parse(r.stdout) as { state: string }).state, join(home, '.local', 'state', 'ddns', 'state.json'));
    assert.match(r.stderr, new RegExp(`config print: from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  test('config validate rejects a bad file with exit code 2 from the bundle', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ daemon: { interval: 1 } }));
    const r = ddns(['-c', file, 'config', 'validate']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /daemon\.interval/);
  });

  test('config print redacts a secret given through *_FILE', () => {
    const secretFile = join(dir, 'duck-token');
    writeFileSync(secretFile, 'tok-4f1c9e2a-secret\n');
    const file = join(dir, 'duck.json');
    writeFileSync(file, JSON.stringify({ records: [{ provider: 'duckdns', domains: ['myhome'], tokenFile: secretFile }] }));
    const r = ddns(['-c', file, 'config', 'print']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('tok-4f1c9e2a-secret'), 'the secret leaked into config print');
  });

  test('ddns run from the bundle serves /metrics (prom-client bundled) and exits 0 on SIGTERM', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ daemon: { listen: `127.0.0.1:${port}` }, state: join(dir, 'run-state.json') }));
    const child = spawn(process.execPath, [join(out, 'ddns.mjs'), '-c', file, 'run'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: dir } });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => { stderr += c; });
    try {
      let body = '';
      for (let i = 0; i < 400 && !body.includes('ddns_ready'); i++) { // a hang guard of ~40 s, not a speed bound
        await new Promise((r) => setTimeout(r, 100));
        body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      }
      assert.match(body, /^ddns_ready 1$/m, stderr);
      assert.match(body, /^process_resident_memory_bytes \d+/m);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('ddns tunnel from the bundle loads ssh2 and dials the relay (a closed connection is retried), exits 0 on SIGTERM', async () => {
    // A "relay" that accepts and hangs up at once: the tunnel must get as far as dialling it, then back off.
    let dialled = 0;
    const relay = createServer((s) => { dialled++; s.destroy(); });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    const keyFile = join(dir, 'tunnel-key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 't', '-f', keyFile]);
    const hostKey = readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = join(dir, 'tunnel.json');
    writeFileSync(file, JSON.stringify({ state: join(dir, 'tunnel-state.json'), tunnels: [{ relay: `t@127.0.0.1:${port}`, identityFile: keyFile, hostKey, forwards: [{ remotePort: 2222, localPort: 8080 }] }] }));
    const child = spawn(process.execPath, [join(out, 'ddns.mjs'), '-c', file, 'tunnel'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: dir } });
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; if (stderr.includes('"tunnel.backoff"')) resolve(); });
        void exited.then((code) => reject(new Error(`ddns tunnel exited ${code}: ${stderr}`)));
      });
      assert.ok(dialled >= 1, 'the relay was dialled');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });

  test('a Cloudflare update through the bundle works with the slimmed SDK (zones and DNS records kept)', async () => {
    const { startInternet } = await import('../fixtures/internet.js');
    const token = 'bundleToken_0123456789abcdefABCDEF012';
    const net = await startInternet({ mode: 'loopback', config: { cloudflare: { zones: { 'example.org': { id: '023e105f4ecef8ad9ca31a8372d0c353' } }, tokens: { [token]: {} } } } });
    try {
      const file = join(dir, 'cf.json');
      writeFileSync(file, JSON.stringify({
        ip: { families: [4] },
        // proxied: the live value is read through the API, so nothing here asks real DNS.
        records: [{ provider: 'cloudflare', zone: 'example.org', name: 'home.example.org', apiToken: token, baseUrl: net.cloudflareBaseUrl, create: true, proxied: true }],
        state: join(dir, 'cf-state.json'),
      }));
      // Not spawnSync: the fixture server lives in this process and must keep answering.
      const child = spawn(process.execPath, [join(out, 'ddns.mjs'), '-c', file, '--json', 'update', '--ip', '44.0.0.9'], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 30_000 });
      const r = { stdout: '', stderr: '', status: null as number | null };
      child.stdout.on('data', (c: Buffer) => { r.stdout += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { r.stderr += c.toString(); });
      r.status = await new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual((JSON.parse(r.stdout) as { records: { status: string }[] }).records.map((x) => x.status), ['updated']);
      assert.deepEqual(net.records({ name: 'home.example.org', type: 'A' }).map((x) => x.content), ['44.0.0.9']);
    } finally {
      await net.close();
    }
  });

  test('the entry statically loads no npm package; the parser (commander only) is one lazy import away', () => {
    const entry = Object.keys(meta.outputs).find((k) => k.endsWith('/ddns.mjs'));
    assert.ok(entry, 'no ddns.mjs in the metafile');
    assert.deepEqual([...packagesIn(staticClosure(entry))], [], 'a bare --version loads no package');
    assert.deepEqual([...packagesIn(staticClosure(parserChunk(entry)))].sort(), ['commander']);
  });

  test('prom-client, cosmiconfig and zod live in lazily loaded chunks', () => {
    const entry = Object.keys(meta.outputs).find((k) => k.endsWith('/ddns.mjs')) as string;
    const all = packagesIn(Object.keys(meta.outputs));
    const eager = packagesIn(staticClosure(entry));
    for (const heavy of ['cosmiconfig', 'zod', 'pino', 'prom-client', 'undici', 'cloudflare']) {
      assert.ok(all.has(heavy), `${heavy} is not in the bundle at all`);
      assert.ok(!eager.has(heavy), `${heavy} loads eagerly`);
    }
  });

  test('zod comes with its English messages only (scripts/build.mjs: the other locales are never used)', () => {
    const inputs = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    const locales = [...new Set(inputs.filter((i) => /zod[\\/]v4[\\/]locales[\\/]\w[\w-]*\.js$/.test(i)))];
    assert.deepEqual(locales.map((i) => i.split(/[\\/]/).at(-1)), ['en.js']);
    const bad = join(dir, 'bad-families.json');
    writeFileSync(bad, JSON.stringify({ ip: { families: [7] } }));
    const r = ddns(['-c', bad, 'config', 'validate']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /ip\.families\[0\]: 7 is not valid — one of: 4, 6/);
  });

  test('a bare --version is the entry file alone: no import at all, it runs with every chunk deleted', () => {
    const entry = Object.keys(meta.outputs).find((k) => k.endsWith('/ddns.mjs')) as string;
    const statics = (meta.outputs[entry]?.imports ?? []).filter((imp) => imp.kind === 'import-statement');
    assert.deepEqual(statics, [], 'the entry imports nothing before it answers --version');
    const text = readFileSync(join(out, 'ddns.mjs'), 'utf8');
    assert.doesNotMatch(text, /^\s*import[\s{"']/m, 'no static import statement in the entry file');
    const copy = join(dir, 'entry-only');
    mkdirSync(copy, { recursive: true });
    cpSync(join(out, 'ddns.mjs'), join(copy, 'ddns.mjs'));
    cpSync(join(out, 'package.json'), join(copy, 'package.json'));
    for (const args of [['--version'], ['-V']]) {
      const r = spawnSync(process.execPath, [join(copy, 'ddns.mjs'), ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
    const other = spawnSync(process.execPath, [join(copy, 'ddns.mjs'), '--help'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(other.status, 0, 'anything but a bare --version needs the parser chunk');
  });

  test('--version runs with every lazily loaded chunk deleted, --help with only the parser\'s', () => {
    const entry = Object.keys(meta.outputs).find((k) => k.endsWith('/ddns.mjs')) as string;
    const keep = new Set([...staticClosure(entry), ...staticClosure(parserChunk(entry))].map((f) => resolve(root, f)));
    const copy = join(dir, 'stripped');
    cpSync(out, copy, { recursive: true });
    let removed = 0;
    for (const name of readdirSync(join(copy, 'chunks'))) {
      const original = join(out, 'chunks', name);
      if (!keep.has(original)) { rmSync(join(copy, 'chunks', name)); removed += 1; }
    }
    assert.ok(removed > 0, `nothing to strip: ${relative(root, out)}`);
    for (const args of [['--version'], ['--help']]) {
      const r = spawnSync(process.execPath, [join(copy, 'ddns.mjs'), ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
