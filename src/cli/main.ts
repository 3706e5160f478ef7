#!/usr/bin/env node
/**
 * The `ddns` entry point: commander wiring only. Each command lives in its own file and imports its
 * implementation lazily inside its action, so `ddns --version` loads nothing but the parser
 * (DESIGN.md "Start-up cost").
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

export function buildProgram(): Command {
  const program = new Command('ddns')
    .description('Dynamic DNS updater and network-path checker')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: search ddns.config.*, .ddnsrc*, package.json; or DDNS_CONFIG)')
    .option('--json', 'print one JSON document on stdout (logs stay on stderr)')
    .option('-v, --verbose', 'more detail (log level debug)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--no-color', 'no colours in output')
    .showHelpAfterError()
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

await main(process.argv);
