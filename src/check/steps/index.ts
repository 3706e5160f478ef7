/** Every step of `ddns check`, in report order. */
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
