/**
 * The image as users run it (issue 13): the container built from the Dockerfile (scripts/image.sh: podman
 * + runc, docs in the README's Docker section) runs `ddns run` as the sidecar in the lab's LAN namespace,
 * hardened as compose.yaml runs it — read-only root, uid 1000, every capability dropped,
 * no-new-privileges, /tmp a small tmpfs, the state on a named volume — and is judged from outside:
 * the records it publishes at the lab's DuckDNS and Cloudflare fixtures, the port it maps on the lab's
 * router (reached from the internet host; removed on stop), /healthz and /readyz from the
 * LAN namespace, the image's own HEALTHCHECK command, the process's credentials read from the host's
 * /proc, and SIGTERM → exit 0 with a valid state file on the volume.
 *
 * Which image: TEST_DDNS_IMAGE names one already built from this tree (.ci/run builds it before the
 * tests, so the Node matrix does not build it twice; not a DDNS_ name, which ddns would read as a setting); without it this file builds `localhost/ddns:lab`
 * with scripts/image.sh (layers cached; the first build on a machine also makes the base image, minutes).
 * Nothing is skipped: no podman, no image, or a failed build is a failure (the lab's root gate aside).
 *
 * Containers and volumes are named `ddnslab<pid>-<tag>`; only this run's are removed, and those of runs
 * whose process is gone are swept at the start (never anything else podman holds).
 */
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStateStore } from '../../src/state/store.js';
import { labSkip } from './gate.js';
import { REPO_ROOT, startLab, type Lab } from './lab.js';
import { lanGet } from './lan-http.js';
import { NETNS_ETC } from './netns.js';
import { alive, run, waitFor, type RunResult } from './sh.js';

const skip = labSkip();

/** The containers.conf scripts/image.sh writes (runc, no default network, ulimits podman can set here). */
const CONTAINERS_CONF = '/etc/ddns-podman/containers.conf';
const PREFIX = 'ddnslab';
const DUCK_TOKEN = 'lab-duck-token-c0ta1ner7';
const CF_TOKEN = 'labCloudflareTokenContainer00000';
const ZONE_ID = 'cc00dd11ee22ff33aa44bb5566778899';
const LISTEN = '127.0.0.1:9876';
const UID = 1000;

function podman(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run(['podman', ...args], { timeoutMs, env: { ...process.env, CONTAINERS_CONF } as Record<string, string> });
}

async function podmanOk(args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  return r.stdout.trim();
}

/** The image to test: TEST_DDNS_IMAGE as it is (it must exist), or localhost/ddns:lab built from this tree. */
async function theImage(): Promise<{ image: string; buildMs?: number }> {
  const given = process.env.TEST_DDNS_IMAGE;
  if (given) {
    if ((await podman(['--version'])).code === 127) throw new Error(`TEST_DDNS_IMAGE=${given}, but podman is not installed (scripts/image.sh installs it)`);
    if ((await podman(['image', 'exists', given])).code !== 0) throw new Error(`TEST_DDNS_IMAGE=${given}: no such image in podman's store (build it with scripts/image.sh ${given})`);
    return { image: given };
  }
  const t0 = Date.now();
  const image = 'localhost/ddns:lab';
  // A hang guard, not a speed bound: the first build on a machine makes the base image (debootstrap).
  const r = await run(['bash', join(REPO_ROOT, 'scripts/image.sh'), image], { timeoutMs: 15 * 60_000, cwd: REPO_ROOT });
  if (r.code !== 0) throw new Error(`scripts/image.sh ${image} exited ${r.code}:\n${r.stderr.split('\n').slice(-30).join('\n')}`);
  return { image, buildMs: Date.now() - t0 };
}

/** Removes containers and volumes of earlier runs whose process is gone (a killed test leaves them). */
async function sweepStale(): Promise<void> {
  const dead = (name: string) => {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    return m?.[1] !== undefined && !alive(Number(m[1]));
  };
  const names = (await podman(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(dead);
  for (const n of names) await podman(['rm', '-f', '-t', '0', n]);
  const vols = (await podman(['volume', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(dead);
  for (const v of vols) await podman(['volume', 'rm', '-f', v]);
}

/** GET on the daemon's server, from inside the LAN host. */
const http = (lab: Lab, path: string) => lanGet(lab, LISTEN, path);

/** `Key:\tvalue` lines of /proc/<pid>/status. */
function procStatus(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

describe('the image as the sidecar in the lab LAN namespace', { skip }, () => {
  let lab: Lab;
  let image: string;
  let name: string;
  let volume: string;
  let pid = 0;
  const created: { container?: boolean; volume?: boolean } = {};
  const logs = async () => { const r = await podman(['logs', name]); return r.stdout + r.stderr; };
  const a = (host: string) => lab.internet?.records({ name: host, type: 'A' }).then((rs) => rs.map((r) => r.content)) ?? Promise.resolve([]);

  before(async () => {
    const built = await theImage();
    image = built.image;
    if (built.buildMs !== undefined) process.stderr.write(`# scripts/image.sh ${image}: ${built.buildMs} ms\n`);
    await sweepStale();
    lab = await startLab('healthy', { ipv6: false });
    await lab.internet?.configure({
      duckdns: { tokens: { [DUCK_TOKEN]: ['labhome'] } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } },
    });
    const tag = lab.id.replace(/^ddl\d+-/, '');
    name = `${PREFIX}${process.pid}-${tag}`;
    volume = `${PREFIX}${process.pid}-${tag}-data`;
  });

  after(async () => {
    // Only what this run created, by its exact name.
    if (created.container) await podman(['rm', '-f', '-t', '0', name]);
    if (created.volume) await podman(['volume', 'rm', '-f', volume]);
    await lab?.down();
  });

  test('runs read-only as uid 1000 without capabilities in the LAN namespace and publishes the WAN address', async () => {
    // The config the image finds by itself in its working directory /config (no -c); the token in it, so
    // the file is the unprivileged user's and nobody else's.
    const cfgDir = join(lab.dir, 'container-config');
    mkdirSync(cfgDir, { recursive: true });
    const cfgFile = join(cfgDir, 'ddns.config.json');
    writeFileSync(cfgFile, JSON.stringify({
      ip: { families: [4] },
      records: [
        { provider: 'duckdns', domains: ['labhome'], token: DUCK_TOKEN },
        { provider: 'cloudflare', zone: 'example.com', name: 'home.example.com', apiToken: CF_TOKEN, create: true },
      ],
      // A port mapping too: UPnP/NAT-PMP need no capability (compose.yaml drops them all).
      forwards: [{ internalPort: 2222, externalPort: 8022, protocol: 'tcp', lease: 120, description: 'ddns-container' }],
      daemon: { listen: LISTEN, interval: 300, removeOnStop: true },
    }, null, 2), { mode: 0o600 });
    chownSync(cfgFile, UID, UID);
    await podmanOk(['volume', 'create', volume]);
    created.volume = true;
    const lanNs = `/run/netns/${lab.hosts.lan}`;
    const etc = join(NETNS_ETC, lab.hosts.lan);
    created.container = true;
    await podmanOk([
      'run', '-d', '--name', name,
      '--network', `ns:${lanNs}`,
      '--read-only', '--user', `${UID}:${UID}`, '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--tmpfs', '/tmp:size=8m,mode=1777',
      '--volume', `${volume}:/data`,
      '--volume', `${cfgFile}:/config/ddns.config.json:ro`,
      // The lab's names and resolver (what `ip netns exec` gives the LAN host) and the lab CA.
      '--volume', `${join(etc, 'hosts')}:/etc/hosts:ro`,
      '--volume', `${join(etc, 'resolv.conf')}:/etc/resolv.conf:ro`,
      '--volume', `${join(lab.dir, 'ca.pem')}:/lab/ca.pem:ro`,
      '--env', 'NODE_EXTRA_CA_CERTS=/lab/ca.pem',
      image,
    ]);
    await waitFor('/readyz 200 from the container', 60_000, async () => ((await http(lab, '/readyz')).status === 200 ? true : undefined))
      .catch(async (err: unknown) => { throw new Error(`${String(err)}\n${(await logs()).split('\n').slice(-20).join('\n')}`); });

    // Published: both providers hold the lab's WAN address; the forward answers from the internet.
    assert.deepEqual(await a('labhome.duckdns.org'), [lab.addr.public4]);
    assert.deepEqual(await a('home.example.com'), [lab.addr.public4]);
    const echo = await lab.listen('lan', 2222);
    try {
      const via = await lab.connectFromInternet(lab.addr.public4, 8022, { send: 'through' });
      assert.ok(via.ok, `the container's forward does not answer from outside: ${via.error}`);
      assert.equal(via.data, 'through');
    } finally {
      await echo.close();
    }

    // The process, seen from the host: in the lab's LAN namespace, uid/gid 1000, no capability in any
    // set, no privilege gain, and the root filesystem mounted read-only.
    pid = Number(await podmanOk(['inspect', name, '--format', '{{.State.Pid}}']));
    assert.ok(pid > 0, 'no pid for the container');
    const netns = readlinkSync(`/proc/${pid}/ns/net`);
    assert.equal(netns, `net:[${statSync(lanNs).ino}]`, 'the container is not in the lab LAN namespace');
    const st = procStatus(pid);
    // The command the Dockerfile's ENTRYPOINT names (node, its V8 options, the bundle) and `run`.
    const entrypoint = JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[];
    assert.deepEqual(entrypoint.filter((a) => !a.startsWith('--')), ['node', '/app/ddns.mjs']);
    assert.deepEqual(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean), [...entrypoint, 'run']);
    assert.deepEqual(st.get('Uid')?.split(/\s+/), ['1000', '1000', '1000', '1000']);
    assert.deepEqual(st.get('Gid')?.split(/\s+/), ['1000', '1000', '1000', '1000']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(st.get(set), '0000000000000000', set);
    assert.equal(st.get('NoNewPrivs'), '1');
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === '/');
    assert.ok(rootMount, 'no root mount in mountinfo');
    assert.ok((rootMount[5] ?? '').split(',').includes('ro'), `root mounted ${rootMount[5]}`);
    const write = await podman(['exec', name, 'sh', '-c', 'echo x > /app/written']);
    assert.notEqual(write.code, 0, 'the root filesystem took a write');
    assert.match(write.stderr, /read-only/i);
  });

  test('/healthz and /readyz answer inside the namespace; the image\'s HEALTHCHECK command says healthy', async () => {
    const h = await http(lab, '/healthz');
    assert.equal(h.status, 200, h.body);
    const r = await http(lab, '/readyz');
    assert.equal(r.status, 200, r.body);
    // The HEALTHCHECK the image declares (docker format keeps it), run as podman runs it.
    const hc = JSON.parse(await podmanOk(['image', 'inspect', image, '--format', '{{json .Config.Healthcheck}}'])) as { Test?: string[] } | null;
    assert.deepEqual(hc?.Test, ['CMD', '/app/healthcheck']);
    const run1 = await podman(['healthcheck', 'run', name]);
    assert.equal(run1.code, 0, `podman healthcheck run: ${run1.stdout}${run1.stderr}`);
    assert.equal((await podmanOk(['inspect', name, '--format', '{{.State.Health.Status}}'])), 'healthy');
    // The same script says unhealthy when /readyz is not 200: aimed at a port where nothing listens it
    // falls back to `ddns health`, which fails the same way — proof it judges rather than always passing.
    const broken = await podman(['exec', '--env', 'DDNS_DAEMON_LISTEN=127.0.0.1:9', name, '/app/healthcheck']);
    assert.notEqual(broken.code, 0, 'the health check passed against nothing');
  });

  test('SIGTERM: exit code 0, the state on the volume valid and owned by uid 1000, no secret in the log', async () => {
    const t0 = Date.now();
    // STOPSIGNAL is SIGTERM; -t 20 is podman's grace before SIGKILL (which would show as 137).
    await podmanOk(['stop', '-t', '20', name], 60_000);
    process.stderr.write(`# podman stop (SIGTERM) → exited: ${Date.now() - t0} ms\n`);
    assert.equal(await podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}']), '0');
    const log = await logs();
    assert.match(log, /"event":"daemon\.stopping","signal":"SIGTERM"/);
    assert.match(log, /"event":"daemon\.stopped"/);
    for (const secret of [DUCK_TOKEN, CF_TOKEN]) assert.ok(!log.includes(secret), 'a secret reached the log');
    const mount = await podmanOk(['volume', 'inspect', volume, '--format', '{{.Mountpoint}}']);
    const file = join(mount, 'state.json');
    assert.ok(existsSync(file), `no state.json on the volume (${mount})`);
    assert.equal(statSync(file).uid, UID);
    const loaded = await openStateStore(file).load();
    assert.equal(loaded.problem, undefined, loaded.problem);
    assert.equal(loaded.state.records['duckdns:www.duckdns.org:labhome']?.published?.['4']?.address, lab.addr.public4);
    const cf = Object.entries(loaded.state.records).find(([k]) => k.startsWith('cloudflare:'));
    assert.equal(cf?.[1].published?.['4']?.address, lab.addr.public4, 'the Cloudflare record is not in the state');
    assert.ok(!readFileSync(file, 'utf8').includes(DUCK_TOKEN), 'a secret reached the state file');
    // removeOnStop: the daemon took its mapping off the router before it exited.
    const echo = await lab.listen('lan', 2222);
    try {
      assert.equal((await lab.connectFromInternet(lab.addr.public4, 8022, { send: 'x', timeoutMs: 800 })).ok, false, 'the mapping survived removeOnStop');
    } finally {
      await echo.close();
    }
  });
});
