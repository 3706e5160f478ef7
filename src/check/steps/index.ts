/** Every step of `ddns check`, in report order. */
import type { Config } from '../../config/schema.js';
import type { Step } from '../step.js';
import { lanStep } from './lan.js';
import { dhcpStep } from './dhcp.js';
import { routerStep } from './router.js';
import { natStep } from './nat.js';
import { publicIpStep } from './publicip.js';
import { dnsStep } from './dns.js';
import { reachStep } from './reach.js';
import { hairpinStep } from './hairpin.js';
import { relayStep } from './relay.js';

export const allSteps: readonly Step[] = [lanStep, dhcpStep, routerStep, natStep, publicIpStep, dnsStep, reachStep, hairpinStep, relayStep];

/** The steps a check of `config` reports: `relay` only when tunnels are configured (the report's contract). */
export function stepsFor(config: Pick<Config, 'tunnels'>): readonly Step[] {
  return config.tunnels.length > 0 ? allSteps : allSteps.filter((s) => s !== relayStep);
}
