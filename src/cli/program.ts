/**
 * The `ddns` command line: commander wiring only. Each command lives in its own file and imports its
 * implementation lazily inside its action (README "Performance": start-up is a budget). main.ts loads this module for
 * everything but a bare `--version`.
 */
import { Command, CommanderError, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { EXIT } from './context.js';
import { register as registerConfig } from './config.js';
import { register as registerMap } from './map.js';
import { register as registerCheck } from './check.js';
import { register as registerProbe } from './probe.js';
import { register as registerIp } from './ip.js';
import { register as registerUpdate } from './update.js';
import { register as registerRun } from './run.js';
import { register as registerHealth } from './health.js';
import { register as registerTunnel } from './tunnel.js';
import { register as registerConfigChild } from './config-load.js';

/** Exit codes and examples under `ddns --help` (the exit codes are a contract: scripts rely on them). */
export const HELP_AFTER = `
Exit codes:
  0  done: every check passed (warnings allowed), the update or mapping was made, the daemon stopped cleanly
  1  something checked or updated failed (a failing check step, no quorum for the address, a provider
     refused, the daemon unhealthy)
  2  usage or configuration error (the message names what is wrong; not worth retrying)

Examples:
  ddns check                              check this machine's path: LAN, router, NAT, public IP, DNS, reach
  ddns --json ip                          the public address and every source's answer, as JSON
  ddns update --dry-run                   what would be published, without publishing
  ddns map add 22 --external 2222 --keep  map a port on the router and keep it while ddns runs
  ddns config print                       the configuration in effect (secrets as ***), and from which file
  ddns -c /etc/ddns/ddns.config.yaml run  the daemon (Docker sidecar, systemd)
`;

export function buildProgram(): Command {
  const program = new Command('ddns')
    .description('Dynamic DNS updater and network-path checker')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: DDNS_CONFIG, else the first found in ./, $XDG_CONFIG_HOME/ddns/ (~/.config/ddns/), /etc/ddns/)')
    .option('--json', 'print one JSON document on stdout (logs stay on stderr)')
    .option('-v, --verbose', 'more detail (log level debug)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--no-color', 'no colours in output')
    .showHelpAfterError()
    .addHelpText('after', HELP_AFTER)
    .exitOverride();

  // One line per command; each file only declares options and lazy-loads its work.
  registerConfig(program);
  registerMap(program);
  registerCheck(program);
  registerProbe(program);
  registerIp(program);
  registerUpdate(program);
  registerRun(program);
  registerHealth(program);
  registerTunnel(program);
  registerConfigChild(program);

  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other parse error is a usage error (2).
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code);
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    throw err;
  }
}
