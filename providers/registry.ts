/**
 * Provider name → its module, loaded on first use (the cloudflare SDK only when a cloudflare record
 * exists). The one place that knows every provider, and the one place a provider typed for its own
 * record kind is widened to take any record (`loadAnyProvider`, checked per call).
 */
import type { RecordConfig } from '../src/config/schema.js';
import type { Provider, ProviderLoader, ProviderName, RecordOf } from './provider.js';

type Loaders = { [P in ProviderName]: () => Promise<{ provider: Provider<RecordOf<P>> }> };

const loaders: Loaders = {
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
export const loadProvider: ProviderLoader = async (name) => (await loaders[name]()).provider;

/**
 * The provider for `name`, taking any record: each call checks that the record is of the provider's own
 * kind and hands it on typed (a record of another kind is a bug in ddns and rejects). This is what the
 * update engine holds, with records of every kind in one list.
 */
export async function loadAnyProvider(name: ProviderName): Promise<Provider> {
  return widen(name, await loadProvider(name));
}

function isOf<P extends ProviderName>(name: P, record: RecordConfig): record is RecordOf<P> {
  return record.provider === name;
}

function widen<P extends ProviderName>(name: P, provider: Provider<RecordOf<P>>): Provider {
  const own = (record: RecordConfig): RecordOf<P> => {
    if (isOf(name, record)) return record;
    throw new Error(`a ${record.provider} record was handed to the ${name} provider`);
  };
  const { readLive, liveFromApi } = provider;
  return {
    name: provider.name,
    names: (record) => provider.names(own(record)),
    update: async (items, ctx) => provider.update(items.map((item) => ({ ...item, record: own(item.record) })), ctx),
    ...(readLive ? { readLive: async (record, families, ctx) => readLive.call(provider, own(record), families, ctx) } : {}),
    ...(liveFromApi ? { liveFromApi: (record) => liveFromApi.call(provider, own(record)) } : {}),
  };
}
