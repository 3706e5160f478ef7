/**
 * Dynu: a preset of dyndns2 (providers/dyndns2.ts) at https://api.dynu.com/nic/update — Basic auth with
 * the account's username and password (or its MD5/SHA-256, which Dynu also accepts), `myip` and
 * `myipv6`, one hostname per request, dyndns2 answer codes.
 */
import type { Dyndns2PresetRecordConfig } from '../src/config/schema.js';
import { createDyndns2Provider } from './dyndns2.js';
import type { Provider } from './provider.js';

export const provider: Provider<Extract<Dyndns2PresetRecordConfig, { provider: 'dynu' }>> = createDyndns2Provider('dynu', { maxHosts: 1 });
