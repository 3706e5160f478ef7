/** `reach`: for each forward, a connection from outside to the public address (and hostname) must arrive here. */
import { skip, type Step } from '../step.js';

export const reachStep: Step = {
  id: 'reach',
  title: 'reachability from outside',
  needs: ['publicip', 'nat'],
  timeoutMs: 8_000,
  async run(ctx) {
    if (ctx.config.forwards.length === 0) return skip('no forwards configured', 'forwards');
    return { status: 'skip', summary: 'not yet implemented' };
  },
};
