/** The public-IP consensus (src/publicip) as the `publicip` step's facts. Never throws. */
import type { Config } from '../../config/schema.js';
import type { Family } from '../../net/address.js';
import type { PublicFacts } from '../facts.js';

export async function observePublicIp(_config: Config, _families: Family[], _o: { signal: AbortSignal }): Promise<PublicFacts> {
  return {};
}
