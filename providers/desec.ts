/**
 * deSEC (dedyn.io): a preset of dyndns2 (providers/dyndns2.ts) at https://update.dedyn.io — Basic auth
 * with the domain name as username and a token as password; `myipv4`/`myipv6`. deSEC deletes (or takes
 * from the connection) the family a request leaves out, so an absent family is sent as `preserve`.
 * One hostname per request; success is a bare `good`; 401 bad token, 404 no hostname, 403 not eligible.
 */
import type { Dyndns2PresetRecordConfig } from '../src/config/schema.js';
import { createDyndns2Provider } from './dyndns2.js';
import type { Provider } from './provider.js';

export const provider: Provider<Extract<Dyndns2PresetRecordConfig, { provider: 'desec' }>> = createDyndns2Provider('desec', {
  maxHosts: 1, v4Param: 'myipv4', v6Param: 'myipv6', absent: 'preserve',
  heldStatus: {
    404: { why: 'deSEC could not tell which hostname to update ({host}) (HTTP 404)', fix: 'set hostname to the full dedyn.io name, and username to that domain name' },
    403: { why: 'deSEC does not allow dynamic updates of {host} (HTTP 403)', fix: 'use a name under dedyn.io, or ask deSEC support for your own domain' },
  },
});
