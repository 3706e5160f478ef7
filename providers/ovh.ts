/**
 * OVHcloud DynHost: a preset of dyndns2 (providers/dyndns2.ts) at https://www.ovh.com/nic/update with
 * `system=dyndns`, Basic auth with a DynHost login of the zone, one hostname per request, IPv4 only
 * (DynHost manages A records).
 */
import type { Dyndns2PresetRecordConfig } from '../src/config/schema.js';
import { createDyndns2Provider } from './dyndns2.js';
import type { Provider } from './provider.js';

export const provider: Provider<Extract<Dyndns2PresetRecordConfig, { provider: 'ovh' }>> =
  createDyndns2Provider('ovh', { maxHosts: 1, params: { system: 'dyndns' }, families: [4] });
