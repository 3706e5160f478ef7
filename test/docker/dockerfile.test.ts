/**
 * The image, checked without a Docker engine: the Dockerfile, compose.yaml, .dockerignore and the
 * systemd unit against hadolint-style rules (test/docker/dockerfile-lint.ts). Every rule is also shown
 * to fire on a bad sample, so a passing run means the real files obey it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultLoaders } from 'cosmiconfig';
import { lintCompose, lintDockerfile, lintUnit, parseDockerfile, stagesOf, type Finding } from './dockerfile-lint.js';

const root = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const dockerfile = read('Dockerfile');
const yaml = (text: string): unknown => defaultLoaders['.yaml']('compose.yaml', text);
const rules = (f: Finding[]) => [...new Set(f.map((x) => x.rule))].sort();

const GOOD = `ARG V=24.11.1
FROM node:\${V}-bookworm-slim AS build
RUN npm ci
FROM node:\${V}-bookworm-slim
LABEL org.opencontainers.image.title=x org.opencontainers.image.source=y org.opencontainers.image.licenses=MIT org.opencontainers.image.version=1 org.opencontainers.image.revision=r
COPY --from=build --chown=root:root /src/dist/ /app/
VOLUME ["/data"]
USER 1000:1000
HEALTHCHECK --timeout=5s CMD ["node", "/app/ddns.mjs", "health"]
ENTRYPOINT ["node", "/app/ddns.mjs"]
CMD ["run"]
`;

describe('Dockerfile', () => {
  test('the real Dockerfile passes every rule', () => {
    assert.deepEqual(lintDockerfile(dockerfile), []);
  });

  test('the good sample passes, so each bad sample below fails for its one reason', () => {
    assert.deepEqual(lintDockerfile(GOOD), []);
  });

  const bad: [string, string, string][] = [
    ['non-root', 'a runtime stage without USER', GOOD.replace('USER 1000:1000\n', '')],
    ['non-root', 'USER root', GOOD.replace('USER 1000:1000', 'USER root')],
    ['non-root', 'USER 0:0', GOOD.replace('USER 1000:1000', 'USER 0:0')],
    ['healthcheck', 'no HEALTHCHECK', GOOD.replace(/HEALTHCHECK.*\n/, '')],
    ['healthcheck', 'a shell-form HEALTHCHECK', GOOD.replace(/HEALTHCHECK.*\n/, 'HEALTHCHECK --timeout=5s CMD node /app/ddns.mjs health\n')],
    ['pinned-base', 'a latest base', GOOD.replace('ARG V=24.11.1', 'ARG V=latest').replace(/\$\{V\}-bookworm-slim/g, 'latest')],
    ['pinned-base', 'a major-only tag', GOOD.replace('ARG V=24.11.1', 'ARG V=24')],
    ['pinned-base', 'no tag', GOOD.replace(/node:\$\{V\}-bookworm-slim/g, 'node')],
    ['no-secrets', 'a token in ENV', GOOD.replace('VOLUME', 'ENV DDNS_RECORDS_0_TOKEN=abcd1234\nVOLUME')],
    ['no-secrets', 'a password ARG', GOOD.replace('VOLUME', 'ARG CF_API_TOKEN\nVOLUME')],
    ['no-secrets', 'a URL with credentials in ENV', GOOD.replace('VOLUME', 'ENV NOTIFY=https://u:p@hc.example/x\nVOLUME')],
    ['no-add', 'ADD of a URL', GOOD.replace('VOLUME', 'ADD https://example.com/x.tgz /x\nVOLUME')],
    ['apt-lists', 'apt lists left behind', GOOD.replace('RUN npm ci', 'RUN apt-get update && apt-get install -y --no-install-recommends curl')],
    ['apt-recommends', 'apt with recommends', GOOD.replace('RUN npm ci', 'RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*')],
    ['copy-chown', 'COPY --from without --chown', GOOD.replace('--chown=root:root ', '')],
    ['exec-form', 'a shell-form ENTRYPOINT', GOOD.replace('ENTRYPOINT ["node", "/app/ddns.mjs"]', 'ENTRYPOINT node /app/ddns.mjs')],
    ['oci-labels', 'no OCI labels', GOOD.replace(/LABEL.*\n/, '')],
    ['state-volume', 'no /data volume', GOOD.replace('VOLUME ["/data"]\n', '')],
    ['multi-stage', 'a single stage', GOOD.replace(/^[\s\S]*?RUN npm ci\n/, 'ARG V=24.11.1\n')],
    ['npm-ci', 'npm install instead of npm ci', GOOD.replace('RUN npm ci', 'RUN npm install')],
    ['no-curl-pipe', 'curl piped into sh', GOOD.replace('RUN npm ci', 'RUN curl -fsSL https://x.example/i.sh | sh && npm ci')],
  ];
  for (const [rule, what, text] of bad) {
    test(`rule ${rule} fires on ${what}`, () => {
      assert.deepEqual(rules(lintDockerfile(text)), [rule]);
    });
  }

  test('the runtime stage ships only the bundle from the build stage', () => {
    const { stages } = stagesOf(parseDockerfile(dockerfile));
    const runtime = stages.at(-1);
    assert.ok(runtime);
    const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.deepEqual(copies, ['--from=build --chown=root:root /src/dist/ /app/', '--chown=root:root docker/healthcheck.sh /app/healthcheck']);
  });

  test('the runtime stage re-declares the ARGs its base.name label uses, and installs the programs ddns runs', () => {
    const { stages } = stagesOf(parseDockerfile(dockerfile));
    const rt = stages.at(-1)?.instructions ?? [];
    const args = rt.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')[0]);
    for (const a of ['NODE_VERSION', 'DEBIAN_RELEASE']) assert.ok(args.includes(a), `ARG ${a} in the runtime stage`);
    assert.match(dockerfile, /apt-get install[^\n]*iputils-tracepath[^\n]*iproute2/);
  });

  test('the image runs the Node.js version CI tests (the last of scripts/node-versions.txt)', () => {
    const { args } = stagesOf(parseDockerfile(dockerfile));
    const tested = read('scripts/node-versions.txt').trim().split('\n').at(-1);
    assert.equal(args.get('NODE_VERSION'), tested);
  });

  test('HEALTHCHECK and ENTRYPOINT call the bundle the build writes (dist/ddns.mjs → /app/ddns.mjs)', () => {
    const build = read('scripts/build.mjs');
    assert.match(build, /entryPoints: \{ ddns:/);
    assert.match(dockerfile, /CMD \["\/app\/healthcheck"\]/);
    assert.match(read('docker/healthcheck.sh'), /exec node \/app\/ddns\.mjs health/);
    assert.match(dockerfile, /ENTRYPOINT \["node", ("--[a-z-]+(=[\w.]+)?", )*"\/app\/ddns\.mjs"\]/);
  });

  test('the base is a Node LTS (even major) of at least 20', () => {
    const { args } = stagesOf(parseDockerfile(dockerfile));
    const major = Number((args.get('NODE_VERSION') ?? '').split('.')[0]);
    assert.ok(major >= 20 && major % 2 === 0, `NODE_VERSION ${args.get('NODE_VERSION')}`);
  });

  test('the state lives in /data, the volume the runtime declares', () => {
    assert.match(dockerfile, /DDNS_STATE=\/data\/state\.json/);
  });
});

describe('.dockerignore', () => {
  const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  test('is an allow-list: everything is excluded first', () => {
    assert.equal(ignore[0], '*');
  });
  test('lets in exactly what the build stage needs', () => {
    for (const p of ['!package.json', '!package-lock.json', '!scripts/build.mjs', '!src/']) assert.ok(ignore.includes(p), p);
    assert.ok(!ignore.some((l) => /^!(node_modules|dist|\.git|test)/.test(l)), 'lets in something the image must not see');
  });
});

describe('compose.yaml', () => {
  const compose = yaml(read('compose.yaml'));
  test('the sidecar service is hardened and on the host network', () => {
    assert.deepEqual(lintCompose(compose), []);
  });
  test('explains why it needs host networking', () => {
    assert.match(read('compose.yaml'), /SSDP multicast[\s\S]*NAT-PMP/);
  });
  test('every secret comes from a file, through *_FILE', () => {
    const env = (compose as { services: { ddns: { environment: Record<string, string> } } }).services.ddns.environment;
    const secretish = Object.keys(env).filter((k) => /TOKEN|PASSWORD|URL/.test(k));
    assert.ok(secretish.length > 0);
    for (const k of secretish) assert.match(k, /_FILE$/);
  });

  const good = { services: { d: { network_mode: 'host', read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'], volumes: ['v:/data'] } } };
  const variants: [string, string, Record<string, unknown>][] = [
    ['host-network', 'a bridge network', { network_mode: 'bridge' }],
    ['read-only', 'a writable root', { read_only: false }],
    ['cap-drop', 'capabilities kept', { cap_drop: [] }],
    ['cap-drop', 'a capability added', { cap_add: ['NET_ADMIN'] }],
    ['no-new-privileges', 'no no-new-privileges', { security_opt: [] }],
    ['non-root', 'user root', { user: '0:0' }],
    ['privileged', 'privileged', { privileged: true }],
    ['secrets-file', 'a token in the environment', { environment: { DDNS_RECORDS_0_TOKEN: 'abc' } }],
    ['state-volume', 'no state volume', { volumes: [] }],
  ];
  test('the good sample passes', () => assert.deepEqual(lintCompose(good), []));
  for (const [rule, what, patch] of variants) {
    test(`rule ${rule} fires on ${what}`, () => {
      const doc = { services: { d: { ...good.services.d, ...patch } } };
      assert.deepEqual(rules(lintCompose(doc)), [rule]);
    });
  }
});

describe('contrib/ddns.service', () => {
  const unit = read('contrib/ddns.service');
  test('is hardened: no root, no capabilities, read-only system, reload by SIGHUP', () => {
    assert.deepEqual(lintUnit(unit), []);
  });
  test('rules fire on a unit that drops hardening', () => {
    assert.deepEqual(rules(lintUnit(unit.replace('NoNewPrivileges=yes', 'NoNewPrivileges=no'))), ['unit-hardening']);
    assert.deepEqual(rules(lintUnit(unit.replace('DynamicUser=yes', 'DynamicUser=no'))), ['unit-user']);
    assert.deepEqual(rules(lintUnit(`${unit}\nMemoryDenyWriteExecute=yes\n`)), ['unit-v8']);
    assert.deepEqual(rules(lintUnit(`${unit}\nEnvironment=DDNS_RECORDS_0_TOKEN=abc\n`)), ['unit-secrets']);
    assert.deepEqual(rules(lintUnit(unit.replace('RestartPreventExitStatus=2', 'RestartPreventExitStatus=3'))), ['unit-restart']);
    assert.deepEqual(rules(lintUnit(unit.replace(/^ExecStart=.*$/m, 'ExecStart=/usr/bin/node /opt/ddns/ddns.mjs run'))), ['unit-node']);
  });
  test('finds Node.js through PATH, /usr/local/bin first, and says how in its header', () => {
    assert.match(unit, /^ExecStart=\/usr\/bin\/env ddns /m);
    assert.match(unit, /^Environment=PATH=\/usr\/local\/bin:/m);
    assert.match(unit, /How it finds Node\.js/);
  });
});
