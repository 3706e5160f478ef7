/** `hairpin`: does a connection from the LAN to public-address:externalPort loop back through the router? */
import { skip, type Step } from '../step.js';

export const hairpinStep: Step = {
  id: 'hairpin',
  title: 'NAT loopback (hairpin)',
  needs: ['publicip', 'lan'],
  timeoutMs: 3_000,
  async run(ctx) {
    if (ctx.config.forwards.length === 0) return skip('no forwards configured', 'forwards');
    return { status: 'skip', summary: 'not yet implemented' };
  },
};
