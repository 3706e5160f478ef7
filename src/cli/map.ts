/** `ddns map add | list | remove`: port mappings on the router (UPnP IGD, NAT-PMP, PCP). */
import { Option, type Command } from 'commander';
import { action, globalOptions } from './context.js';

const via = () => new Option('--via <protocol>', 'how to talk to the router').choices(['auto', 'upnp', 'natpmp', 'pcp']).default('auto');
const family = () => new Option('--family <family>', '4: a port mapping (NAT); 6: an inbound IPv6 pinhole to this host\'s stable address (UPnP WANIPv6FirewallControl or PCP)').choices(['4', '6']).default('4');
const protocol = () => new Option('--protocol <protocol>', 'transport protocol').choices(['tcp', 'udp']).default('tcp');

export function register(program: Command): void {
  const map = program.command('map').description('open, list and close port mappings on the router (UPnP IGD, NAT-PMP, PCP)');

  map
    .command('add')
    .description('map a port of this host on the router (only this host\'s own address is ever mapped)')
    .argument('<internal-port>', 'port on this host')
    .option('--external <port>', 'external port on the router (default: same as the internal port)')
    .addOption(protocol())
    .option('--lease <seconds>', 'lease in seconds', '7200')
    .option('--description <text>', 'description shown by the router', 'ddns')
    .addOption(via())
    .addOption(family())
    .option('--keep', 'stay running: renew the lease, re-create it after a router reboot, remove it on exit')
    .action(action(async (internalPort: string, opts: Record<string, unknown>, cmd: Command) => {
      const { runMapAdd } = await import('./map-run.js');
      return runMapAdd(internalPort, opts, globalOptions(cmd));
    }));

  map
    .command('list')
    .description("this host's mappings on the router; --all: every mapping, flagged by owner (an exposure audit)")
    .option('--all', 'every mapping on the router, not only this host\'s')
    .addOption(via())
    .action(action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { runMapList } = await import('./map-run.js');
      return runMapList(opts, globalOptions(cmd));
    }));

  map
    .command('remove')
    .description('remove a mapping of this host from the router')
    .argument('<external-port>', 'external port on the router (with --family 6: the port of this host)')
    .addOption(protocol())
    .addOption(via())
    .addOption(family())
    .action(action(async (externalPort: string, opts: Record<string, unknown>, cmd: Command) => {
      const { runMapRemove } = await import('./map-run.js');
      return runMapRemove(externalPort, opts, globalOptions(cmd));
    }));
}
