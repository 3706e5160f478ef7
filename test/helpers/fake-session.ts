/** A tunnel Session (src/tunnel/link.ts) a test ends by hand; it records why it was closed. */
import type { LinkFailure, Session } from '../../src/tunnel/link.js';

export class FakeSession implements Session {
  closedWith?: LinkFailure;
  private end!: (f: LinkFailure) => void;
  readonly ended = new Promise<LinkFailure>((r) => { this.end = r; });
  drop(f: LinkFailure): void { this.end(f); }
  close(reason: LinkFailure): Promise<void> { this.closedWith ??= reason; this.end(reason); return Promise.resolve(); }
}
