/**
 * A small static checker for the image's files, in the spirit of hadolint (no Docker engine exists on
 * these machines). Pure functions from text to findings, so each rule is tested against the real files
 * (no findings) and against a bad sample (the rule fires).
 */
export interface Instruction { op: string; args: string; line: number }
export interface Stage { from: string; name?: string; instructions: Instruction[] }
export interface Finding { rule: string; line: number; message: string }

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (buf === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (buf !== '' && trimmed.startsWith('#')) continue; // comment lines inside a continuation
    if (buf === '') start = i + 1;
    if (trimmed.endsWith('\\')) { buf += `${trimmed.slice(0, -1)} `; continue; }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buf = '';
  }
  return out;
}

/** Global ARGs (before the first FROM) with their defaults, and the stages. */
export function stagesOf(instructions: Instruction[]): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      const from = substitute(m?.[1] ?? ins.args, args);
      stages.push({ from, ...(m?.[2] ? { name: m[2] } : {}), instructions: [] });
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (ins.op === 'ARG') {
        const [k, v] = ins.args.split('=', 2);
        if (k) args.set(k.trim(), (v ?? '').trim());
      }
      continue;
    }
    current.instructions.push(ins);
  }
  return { args, stages };
}

function substitute(s: string, args: Map<string, string>): string {
  return s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, k: string) => args.get(k) ?? `$${k}`);
}

/** A secret-looking variable name that is not a path to a secret (`*_FILE`). */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?!.*_FILE$)/i;

function envPairs(args: string): [string, string][] {
  const pairs: [string, string][] = [];
  if (!args.includes('=')) {
    const [k, ...rest] = args.split(/\s+/);
    if (k) pairs.push([k, rest.join(' ')]);
    return pairs;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) pairs.push([m[1] ?? '', m[2] ?? '']);
  return pairs;
}

function isExecForm(args: string): boolean {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
}

/** The image rules. An empty list means the Dockerfile passes. */
export function lintDockerfile(text: string): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: string, line: number, message: string) => findings.push({ rule, line, message });
  const instructions = parseDockerfile(text);
  const { stages } = stagesOf(instructions);
  if (stages.length < 2) add('multi-stage', 1, 'expected a build stage and a runtime stage');
  const stageNames = new Set(stages.map((s) => s.name).filter((n): n is string => !!n));

  for (const [i, stage] of stages.entries()) {
    const fromLine = instructions.filter((x) => x.op === 'FROM')[i]?.line ?? 0;
    if (!stageNames.has(stage.from) || stages.findIndex((s) => s.name === stage.from) >= i) {
      const [image, digest] = stage.from.split('@');
      const tag = image?.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
      if (!digest && (!tag || tag === 'latest' || !/^v?\d+\.\d+\.\d+/.test(tag))) {
        add('pinned-base', fromLine, `base image "${stage.from}" is not pinned to a full version (x.y.z) or digest`);
      }
      if (stage.from.includes('$')) add('pinned-base', fromLine, `base image "${stage.from}" uses an ARG without a default`);
    }
    for (const ins of stage.instructions) {
      if (ins.op === 'ADD') add('no-add', ins.line, `ADD ${ins.args}: use COPY (ADD fetches URLs and unpacks archives implicitly)`);
      if (ins.op === 'ENV' || ins.op === 'ARG') {
        for (const [k, v] of envPairs(ins.args)) {
          if (SECRET_NAME.test(k)) add('no-secrets', ins.line, `${ins.op} ${k}: a secret must not be baked into the image — pass a *_FILE path at run time`);
          else if (/\b(Bearer|Basic)\s+\S|:\/\/[^/\s:@]+:[^/\s@]+@/.test(v)) add('no-secrets', ins.line, `${ins.op} ${k}: the value looks like a credential`);
        }
      }
      if (ins.op === 'RUN') {
        if (/\bapt-get\s+install\b/.test(ins.args)) {
          if (!/--no-install-recommends/.test(ins.args)) add('apt-recommends', ins.line, 'apt-get install without --no-install-recommends');
          if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args)) add('apt-lists', ins.line, 'apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN');
        }
        if (/\b(curl|wget)\b[^|]*\|\s*(ba)?sh\b/.test(ins.args)) add('no-curl-pipe', ins.line, 'piping a download into a shell');
        if (/\bsudo\b/.test(ins.args)) add('no-sudo', ins.line, 'sudo in RUN');
      }
    }
    if (/\bnpm (install|i)\b/.test(stage.instructions.filter((x) => x.op === 'RUN').map((x) => x.args).join('\n'))) {
      add('npm-ci', fromLine, 'npm install in the image: use npm ci (the lockfile, exactly)');
    }
  }

  const runtime = stages[stages.length - 1];
  if (!runtime) return findings;
  const rt = runtime.instructions;
  const users = rt.filter((x) => x.op === 'USER');
  const lastUser = users[users.length - 1];
  if (!lastUser) add('non-root', 0, 'the runtime stage sets no USER: it would run as root');
  else {
    const who = lastUser.args.split(':')[0]?.trim() ?? '';
    if (who === 'root' || who === '0') add('non-root', lastUser.line, `USER ${lastUser.args}: runs as root`);
    const lastRun = rt.filter((x) => x.op === 'RUN').pop();
    if (lastRun && lastRun.line > lastUser.line) add('non-root', lastRun.line, 'RUN after USER: the last USER must come after setup');
  }
  const hc = rt.filter((x) => x.op === 'HEALTHCHECK').pop();
  if (!hc) add('healthcheck', 0, 'no HEALTHCHECK in the runtime stage');
  else {
    const cmd = /\bCMD\s+(.*)$/s.exec(hc.args)?.[1] ?? '';
    if (!isExecForm(cmd)) add('healthcheck', hc.line, 'HEALTHCHECK CMD must be exec form (no shell in the way)');
    if (!/"health"|"\/app\/healthcheck"/.test(cmd)) add('healthcheck', hc.line, 'HEALTHCHECK must run `ddns health` or /app/healthcheck');
    if (!/--timeout=\d+s/.test(hc.args)) add('healthcheck', hc.line, 'HEALTHCHECK without --timeout');
  }
  for (const op of ['ENTRYPOINT', 'CMD']) {
    const ins = rt.filter((x) => x.op === op).pop();
    if (ins && !isExecForm(ins.args)) add('exec-form', ins.line, `${op} in shell form: node would not be PID 1 and would miss SIGTERM`);
  }
  if (!rt.some((x) => x.op === 'ENTRYPOINT' || x.op === 'CMD')) add('exec-form', 0, 'no ENTRYPOINT/CMD');
  for (const ins of rt.filter((x) => x.op === 'COPY')) {
    if (/--from=/.test(ins.args) && !/--chown=/.test(ins.args)) add('copy-chown', ins.line, 'COPY --from without --chown: ownership is whatever the build stage had');
  }
  const labels = rt.filter((x) => x.op === 'LABEL').map((x) => x.args).join(' ');
  for (const key of ['title', 'source', 'licenses', 'version', 'revision']) {
    if (!labels.includes(`org.opencontainers.image.${key}=`)) add('oci-labels', 0, `missing LABEL org.opencontainers.image.${key}`);
  }
  if (!rt.some((x) => x.op === 'VOLUME' && x.args.includes('/data'))) add('state-volume', 0, 'no VOLUME for /data (the state)');
  return findings;
}

/** The compose rules for the sidecar service. `doc` is the parsed compose.yaml. */
export function lintCompose(doc: unknown): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: string, message: string) => findings.push({ rule, line: 0, message });
  const services = (doc as { services?: Record<string, Record<string, unknown>> } | null)?.services;
  if (!services || Object.keys(services).length === 0) return [{ rule: 'service', line: 0, message: 'no services' }];
  for (const [name, s] of Object.entries(services)) {
    if (s.network_mode !== 'host') add('host-network', `${name}: network_mode must be host (SSDP multicast, NAT-PMP)`);
    if (s.read_only !== true) add('read-only', `${name}: read_only: true missing`);
    const capDrop = Array.isArray(s.cap_drop) ? s.cap_drop : [];
    if (!capDrop.includes('ALL')) add('cap-drop', `${name}: cap_drop: [ALL] missing`);
    if (Array.isArray(s.cap_add) && s.cap_add.length > 0) add('cap-drop', `${name}: cap_add ${JSON.stringify(s.cap_add)}: no capability is needed`);
    const sec = Array.isArray(s.security_opt) ? s.security_opt.map(String) : [];
    if (!sec.some((o) => /^no-new-privileges(:true)?$/.test(o))) add('no-new-privileges', `${name}: security_opt no-new-privileges missing`);
    if (s.privileged === true) add('privileged', `${name}: privileged`);
    if (typeof s.user === 'string' && /^(root|0)(:|$)/.test(s.user)) add('non-root', `${name}: user ${s.user}`);
    const env = s.environment;
    const pairs: [string, unknown][] = Array.isArray(env)
      ? env.map((e) => String(e).split('=', 2) as [string, string])
      : env && typeof env === 'object' ? Object.entries(env) : [];
    for (const [k, v] of pairs) {
      if (SECRET_NAME.test(k) && v !== undefined && v !== null && v !== '') add('secrets-file', `${name}: ${k} puts a secret into the environment — use ${k}_FILE and a compose secret`);
    }
    const volumes = Array.isArray(s.volumes) ? s.volumes.map(String) : [];
    if (!volumes.some((v) => /:\/data(:|$)/.test(v))) add('state-volume', `${name}: no volume on /data: the state would be lost with the container`);
  }
  return findings;
}

/** The systemd unit's hardening. */
export function lintUnit(text: string): Finding[] {
  const findings: Finding[] = [];
  const keys = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) keys.set(m[1], [...(keys.get(m[1]) ?? []), (m[2] ?? '').trim()]);
  }
  const one = (k: string) => keys.get(k)?.at(-1);
  const want: [string, (v: string | undefined) => boolean, string][] = [
    ['NoNewPrivileges', (v) => v === 'yes' || v === 'true', 'NoNewPrivileges=yes'],
    ['ProtectSystem', (v) => v === 'strict', 'ProtectSystem=strict'],
    ['ProtectHome', (v) => v === 'yes' || v === 'read-only' || v === 'tmpfs', 'ProtectHome=yes'],
    ['PrivateTmp', (v) => v === 'yes', 'PrivateTmp=yes'],
    ['CapabilityBoundingSet', (v) => v === '', 'CapabilityBoundingSet= (empty)'],
    ['ExecReload', (v) => !!v && /-HUP/.test(v), 'ExecReload sends SIGHUP'],
    ['StateDirectory', (v) => !!v, 'StateDirectory= for the state file'],
  ];
  for (const [k, ok, what] of want) if (!ok(one(k))) findings.push({ rule: 'unit-hardening', line: 0, message: `missing ${what}` });
  if (one('DynamicUser') !== 'yes' && (!one('User') || one('User') === 'root')) findings.push({ rule: 'unit-user', line: 0, message: 'runs as root: set DynamicUser=yes or User=' });
  if (one('MemoryDenyWriteExecute') === 'yes') findings.push({ rule: 'unit-v8', line: 0, message: 'MemoryDenyWriteExecute=yes kills node (V8 JIT)' });
  // Exit 2 (bad usage or config) is not retried forever.
  if (!(keys.get('RestartPreventExitStatus') ?? []).some((v) => v.split(/\s+/).includes('2'))) findings.push({ rule: 'unit-restart', line: 0, message: 'missing RestartPreventExitStatus=2: a bad config would be retried forever' });
  // A fixed node path (/usr/bin/node) is too old on some distributions (Debian 12: 18): find it through PATH.
  if (/(^|\s|\/)node(\s|$)/.test(one('ExecStart') ?? '')) findings.push({ rule: 'unit-node', line: 0, message: `ExecStart runs a fixed node (${one('ExecStart') ?? ''}): run ddns through env and PATH` });
  if (one('PrivateNetwork') === 'yes') findings.push({ rule: 'unit-network', line: 0, message: 'PrivateNetwork=yes hides the LAN and the router' });
  for (const v of keys.get('Environment') ?? []) {
    const name = v.replace(/^"/, '').split('=')[0] ?? '';
    if (SECRET_NAME.test(name)) findings.push({ rule: 'unit-secrets', line: 0, message: `Environment=${name}: use LoadCredential and *_FILE` });
  }
  return findings;
}
