/**
 * `npm run lab` (as root): make sure the lab's Debian packages are there (installing what is missing),
 * bring up the healthy home network, run `ddns check` in the LAN host and show what it says, then tear
 * everything down. Not root: it names what is missing and how to install it, and touches no namespace.
 *
 *   npm run lab                  # healthy
 *   npm run lab -- cgnat         # any scenario: healthy upnp-only natpmp-only no-portmap cgnat double-nat no-static-lease
 *   DDNS_LAB_KEEP=1 npm run lab  # keep the run directory (configs, logs) for reading afterwards
 *   DDNS_LAB_NO_CHECK=1 …        # show the comparators' view (upnpc -s, one request per fixture) instead
 */
import { isRoot, scenarioNames, withLab, type Lab } from './lab.js';
import { ensureLabPackages } from './deps.js';
import { isScenario } from './topology.js';
import { httpGet, upnpcStatus } from './tools.js';

const DEMO_USER = 'demo';
const DEMO_PASS = 'demo-password';
const DEMO_HOST = 'home.ddns.net';
const DEMO_TOKEN = '0d2b1f4e-0000-4000-8000-00000000demo';

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** The demo's fixture accounts, and the record already pointing at the public address. */
async function seed(lab: Lab): Promise<void> {
  const net = lab.internet;
  if (!net) return;
  await net.configure({
    dyndns2: { accounts: { [DEMO_USER]: { password: DEMO_PASS, hostnames: [DEMO_HOST] } } },
    duckdns: { tokens: { [DEMO_TOKEN]: ['myhome'] } },
  });
  await net.setRecord({ name: DEMO_HOST, type: 'A', content: lab.addr.public4 });
  if (lab.addr.public6) await net.setRecord({ name: DEMO_HOST, type: 'AAAA', content: lab.addr.public6 });
}

async function runCheck(lab: Lab): Promise<number> {
  const config = {
    ip: { families: lab.addr.lan6 ? [4, 6] : [4] },
    lan: { expectAddress: lab.addr.expectedLease4 },
    records: [{ provider: 'noip', hostname: DEMO_HOST, username: DEMO_USER, password: DEMO_PASS }],
  };
  say(`$ ddns check        (in the LAN host ${lab.addr.lan4}; config: ${JSON.stringify(config)})`);
  const child = lab.spawn('lan', lab.ddnsArgv(['check'], { config }), { env: { ...lab.ddnsEnv, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' }, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  say(`(ddns check exited ${code})`);
  return code;
}

async function comparators(lab: Lab): Promise<number> {
  say('(DDNS_LAB_NO_CHECK=1: upnpc -s and one request per fixture instead of ddns check)');
  const s = await upnpcStatus(lab);
  say(`upnpc -s: IGD ${s.desc ?? 'none'}, valid ${s.validIgd}, ExternalIPAddress ${JSON.stringify(s.externalIp ?? null)}`);
  const urls = [
    'https://api.ipify.org', 'https://api6.ipify.org', 'https://checkip.amazonaws.com', 'https://ipv6.icanhazip.com',
    'https://www.cloudflare.com/cdn-cgi/trace',
    `https://dynupdate.no-ip.com/nic/update?hostname=${DEMO_HOST}&myip=${lab.addr.public4}`,
    `https://www.duckdns.org/update?domains=myhome&token=${DEMO_TOKEN}&ip=${lab.addr.public4}`,
  ];
  let failed = 0;
  for (const url of urls) {
    const headers: Record<string, string> = { 'user-agent': 'ddns-lab demo/0.1-lab demo@example.invalid' };
    if (url.includes('no-ip')) headers.authorization = `Basic ${Buffer.from(`${DEMO_USER}:${DEMO_PASS}`).toString('base64')}`;
    const r = await httpGet(lab, url, headers);
    if (r.status !== 200) failed++;
    say(`GET ${url.replace(/token=[^&]+/, 'token=…')}\n    → ${r.status} ${(r.error ?? r.body).trim().replaceAll('\n', ' | ').slice(0, 160)}`);
  }
  const js = "import('node:dns').then(async ({ promises: d }) => { const r = new d.Resolver(); r.setServers([(await d.lookup('resolver1.opendns.com', 4)).address]); console.log(await r.resolve4('myip.opendns.com')); })";
  const dns = await lab.exec('lan', [process.execPath, '-e', js]);
  say(`DNS myip.opendns.com A @resolver1.opendns.com → ${(dns.stdout || dns.stderr).trim()}`);
  return failed === 0 && dns.code === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const scenario = process.argv[2] ?? 'healthy';
  if (!isScenario(scenario)) {
    say(`unknown scenario ${scenario}; one of: ${scenarioNames.join(' ')}`);
    return 2;
  }
  try {
    ensureLabPackages();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (!isRoot()) {
    process.stderr.write('lab: npm run lab builds network namespaces, which needs root: run it as root\n');
    return 2;
  }
  const t0 = Date.now();
  return withLab(scenario, async (lab) => {
    say(`lab ${lab.id}: ${scenario} up in ${Date.now() - t0} ms (run dir ${lab.dir})`);
    say(`  LAN host   ${lab.hosts.lan}: ${lab.addr.lan4}${lab.addr.lan6 ? `, ${lab.addr.lan6}` : ''} (reserved lease ${lab.addr.expectedLease4})`);
    say(`  router     ${lab.hosts.rtr}: LAN ${lab.addr.router4}, WAN ${lab.addr.routerWan4}`);
    if (lab.hosts.isp) say(`  upstream   ${lab.hosts.isp}: NAT to ${lab.addr.public4}`);
    say(`  internet   ${lab.hosts.wan}: ${lab.addr.internet4}${lab.addr.internet6 ? `, ${lab.addr.internet6}` : ''}; public address ${lab.addr.public4}${lab.addr.public6 ? `, ${lab.addr.public6}` : ''}`);
    say();
    await seed(lab);
    const code = process.env.DDNS_LAB_NO_CHECK === '1' ? await comparators(lab) : await runCheck(lab);
    const requests = (await lab.internet?.requests()) ?? [];
    say();
    say(`the fixtures saw ${requests.length} request(s): ${[...new Set(requests.map((e) => `${e.service}:${e.host || e.path}`))].join(', ')}`);
    return code;
  }).finally(() => say(`torn down; ${((Date.now() - t0) / 1000).toFixed(1)} s in all`));
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`lab demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
