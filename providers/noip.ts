/**
 * No-IP: a preset of dyndns2 (providers/dyndns2.ts). The record's `server` defaults to
 * https://dynupdate.no-ip.com (config schema); the User-Agent is No-IP's documented form
 * (providers/http.ts USER_AGENT); hostnames of one account go in one request, one answer line each.
 */
import type { NoipRecordConfig } from '../src/config/schema.js';
import { createDyndns2Provider } from './dyndns2.js';
import type { Provider } from './provider.js';

export const NOIP_DEFAULT_SERVER = 'https://dynupdate.no-ip.com';

export const provider: Provider<NoipRecordConfig> = createDyndns2Provider<NoipRecordConfig>('noip');
