/**
 * STUN source: a Binding request (RFC 8489) to a server, from a socket of the asked family to the
 * server's address of that family; the reply's XOR-MAPPED-ADDRESS (else MAPPED-ADDRESS) is the address
 * the server saw. Retransmitted at 250 ms doubling (RFC 8489 §6.2.1 with a shorter first RTO for
 * interactive use), bounded by the tries and the timeout. Replies for another transaction are ignored.
 */
import { randomBytes } from 'node:crypto';
import type { Family } from '../../net/address.js';
import { withTimeout } from '../../net/abort.js';
import { doublingDelays, udpExchange } from '../../net/udp.js';
import { failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { validateAddress } from '../validate.js';
import { parseEndpoint, resolveFor } from './resolve.js';
import { encodeBindingRequest, parseBindingReply } from './stun-message.js';

export interface StunSourceOptions {
  server: string;
  operator: string;
  families: readonly Family[];
  timeoutMs: number;
  /** Sends at most this many requests (default 5). */
  tries?: number;
  /** First retransmission wait in ms (default 250). */
  rtoMs?: number;
  id?: string;
}

export class StunSource implements Source {
  readonly type = 'stun' as const;
  readonly vantage = 'outside' as const;
  readonly id: string;
  readonly operator: string;
  readonly families: readonly Family[];
  private readonly o: StunSourceOptions;

  constructor(o: StunSourceOptions) {
    this.o = o;
    this.id = o.id ?? `stun:${o.server}`;
    this.operator = o.operator;
    this.families = o.families;
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    const t0 = performance.now();
    if (!this.families.includes(family)) return failure(family, 'unsupported', `not configured for IPv${family}`, 0);
    const ep = parseEndpoint(this.o.server, 3478);
    if (!ep) return failure(family, 'protocol', `server "${this.o.server}" is not host[:port]`, 0);
    const signal = withTimeout(this.o.timeoutMs, opts.signal);
    const server = await resolveFor(ep.host, family, signal);
    if (!server.ok) return failure(family, opts.signal?.aborted ? 'aborted' : server.kind, server.why, since(t0));
    const txid = randomBytes(12);
    const r = await udpExchange(encodeBindingRequest(txid), {
      gateway: server.address,
      port: ep.port,
      signal,
      delays: doublingDelays(this.o.rtoMs ?? 250, this.o.tries ?? 5, this.o.timeoutMs),
      accept: (msg) => parseBindingReply(msg, txid),
    });
    if (!r.ok) {
      if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted', since(t0));
      if (signal.aborted || r.kind === 'timeout') return failure(family, 'timeout', `no answer after ${r.tries} request(s) within ${this.o.timeoutMs} ms`, since(t0));
      return failure(family, 'network', r.why, since(t0));
    }
    const reply = r.value;
    if (reply.kind === 'error') return failure(family, 'protocol', `STUN error ${reply.code} ${reply.reason}`.trim(), since(t0));
    if (reply.kind === 'malformed') return failure(family, 'protocol', `malformed STUN reply: ${reply.message}`, since(t0));
    const evidence = `${reply.attribute} ${reply.address} port ${reply.port}`;
    const v = validateAddress(reply.address, family);
    if (!v.ok) return failure(family, 'invalid', v.why, since(t0), { evidence, ...(v.rejected ? { rejected: v.rejected } : {}) });
    return { ok: true, family, address: v.address, ms: since(t0), evidence };
  }
}
