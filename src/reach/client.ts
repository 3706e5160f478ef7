/** The reachability client: asks our probe (nonce API) or an echoip service whether a forward answers from outside. */
import type { ProbeConfig } from '../config/schema.js';
import type { ReachOutcome, ReachRequest } from '../check/deps.js';

export async function checkReach(_probe: ProbeConfig | undefined, _req: ReachRequest, _o: { signal: AbortSignal }): Promise<ReachOutcome> {
  return { kind: 'error', message: 'not implemented', ms: 0 };
}
