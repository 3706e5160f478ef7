/** `dns`: each record's A/AAAA at the zone's authoritative servers and at the system resolver vs the public address. */
import { skip, type Step } from '../step.js';

export const dnsStep: Step = {
  id: 'dns',
  title: 'DNS records',
  needs: ['publicip'],
  timeoutMs: 4_000,
  async run(ctx) {
    if (ctx.config.records.length === 0) return skip('no records configured', 'records');
    return { status: 'skip', summary: 'not yet implemented' };
  },
};
