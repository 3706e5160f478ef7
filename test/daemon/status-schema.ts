/**
 * The `/status.json` contract (version 1) as a strict schema: every field named, typed and nothing else
 * allowed, so a field added by accident (a URL, a token, an error object) fails the tests that check
 * served documents against it (unit: daemon.test.ts; lab: the daemon's real document in page.test.ts).
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { STEP_IDS } from '../../src/check/step.js';

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, 'an ISO time (toISOString)');
const ip = z.string().refine((s) => isIP(s) !== 0, 'an IP address');
const tone = z.enum(['pass', 'warn', 'fail', 'skip']);

const step = z.strictObject({
  id: z.enum(STEP_IDS),
  status: tone,
  summary: z.string(),
  advice: z.string().optional(),
  details: z.array(z.string()).optional(),
  ms: z.number().int().nonnegative(),
});

const record = z.strictObject({
  provider: z.string().min(1),
  name: z.string().min(1),
  addresses: z.strictObject({ 4: z.strictObject({ address: ip, since: iso }).optional(), 6: z.strictObject({ address: ip, since: iso }).optional() }),
  result: z.enum(['updated', 'unchanged', 'current', 'held', 'waiting', 'retryAfter', 'failed']).optional(),
  why: z.string().optional(),
  fix: z.string().optional(),
  history: z.array(z.strictObject({ at: iso, family: z.union([z.literal(4), z.literal(6)]), from: ip.nullable(), to: ip })).max(20),
});

const forward = z.strictObject({
  key: z.string().regex(/^(tcp|udp)\/\d+$/),
  protocol: z.enum(['tcp', 'udp']),
  internalPort: z.number().int().min(1).max(65535),
  externalPort: z.number().int().min(1).max(65535),
  families: z.array(z.union([z.literal(4), z.literal(6)])).min(1),
  description: z.string().optional(),
  mapping: z.strictObject({
    via: z.enum(['upnp', 'natpmp', 'pcp']),
    internalAddress: ip,
    internalPort: z.number().int().min(1).max(65535),
    externalPort: z.number().int().min(1).max(65535),
    leaseSeconds: z.number().int().nonnegative(),
    grantedAt: iso,
    expiresAt: iso.nullable(),
  }).nullable().optional(),
  problem: z.string().optional(),
  pinhole: z.strictObject({
    via: z.enum(['upnp', 'pcp']),
    internalAddress: ip,
    internalPort: z.number().int().min(1).max(65535),
    id: z.number().int().nonnegative().optional(),
    leaseSeconds: z.number().int().nonnegative(),
    grantedAt: iso,
    expiresAt: iso,
  }).nullable().optional(),
  pinholeProblem: z.string().optional(),
});

const tunnel = z.strictObject({
  relay: z.string().min(1),
  state: z.enum(['up', 'connecting', 'down']),
  summary: z.string(),
  forwards: z.array(z.string()),
  since: iso.optional(),
});

const check = z.strictObject({
  ok: z.boolean(),
  nat: z.enum(['none', 'single', 'double', 'cgnat', 'unknown']),
  publicAddress: z.strictObject({ 4: ip.nullable(), 6: ip.nullable() }),
  steps: z.array(step),
  ms: z.number().int().nonnegative(),
  at: iso,
  reasons: z.array(z.string().min(1)).min(1),
});

export const statusDocumentSchema = z.strictObject({
  version: z.literal(1),
  generatedAt: iso,
  records: z.array(record),
  forwards: z.array(forward),
  tunnels: z.array(tunnel),
  check: check.nullable(),
  nextCheckAt: iso.nullable().optional(),
  revision: z.string().regex(/^[0-9a-f]{16}$/),
});

/** Parses a served document against the contract; the error names every wrong field. */
export function assertStatusDocument(doc: unknown): z.infer<typeof statusDocumentSchema> {
  const r = statusDocumentSchema.safeParse(doc);
  if (!r.success) throw new Error(`/status.json does not match its contract:\n${z.prettifyError(r.error)}\n${JSON.stringify(doc, null, 2).slice(0, 4000)}`);
  return r.data;
}
