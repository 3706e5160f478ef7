/**
 * Provider name → its module, loaded on first use (the cloudflare SDK only when a cloudflare record
 * exists). The one place that knows every provider.
 */
import type { RecordConfig } from '../src/config/schema.js';
import type { Provider, ProviderName } from './provider.js';

const loaders: Record<ProviderName, () => Promise<{ provider: Provider<never> }>> = {
  noip: () => import('./noip.js'),
  dyndns2: () => import('./dyndns2.js'),
  duckdns: () => import('./duckdns.js'),
  cloudflare: () => import('./cloudflare.js'),
  dynu: () => import('./dynu.js'),
  ovh: () => import('./ovh.js'),
  desec: () => import('./desec.js'),
  rfc2136: () => import('./rfc2136.js'),
  custom: () => import('./custom.js'),
  porkbun: () => import('./porkbun.js'),
  hetzner: () => import('./hetzner.js'),
  digitalocean: () => import('./digitalocean.js'),
  namecheap: () => import('./namecheap.js'),
  gandi: () => import('./gandi.js'),
  freedns: () => import('./freedns.js'),
};

export const PROVIDER_NAMES = Object.keys(loaders) as ProviderName[];

/** The provider for `name`, typed for its own record kind. */
export async function loadProvider<P extends ProviderName>(name: P): Promise<Provider<Extract<RecordConfig, { provider: P }>>> {
  const mod = await loaders[name]();
  return mod.provider as unknown as Provider<Extract<RecordConfig, { provider: P }>>;
}
