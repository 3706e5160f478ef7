/** Shared set-up for the update tests: the loopback internet, configs, a captured logger, a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { DnsOptions } from '../../src/dns/authoritative.js';
import { startInternet, type Internet, type InternetPatch } from '../fixtures/internet.js';

export const V4 = '44.0.0.2';
export const V4B = '44.0.0.3';
export const V6 = '2a01:4f8::2';
export const V6B = '2a01:4f8::3';

export interface Harness {
  internet: Internet;
  dir: string;
  statePath: string;
  dns: DnsOptions;
  logs: string[];
  log: Logger;
  config(records: NonNullable<ConfigInput['records']>, extra?: Partial<ConfigInput>): Config;
  close(): Promise<void>;
}

export async function harness(patch: InternetPatch = {}): Promise<Harness> {
  const internet = await startInternet({ mode: 'loopback', config: patch });
  const dir = mkdtempSync(join(tmpdir(), 'ddns-update-'));
  const statePath = join(dir, 'state.json');
  const port = internet.dns[0]?.port ?? 53;
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(chunk.toString('utf8')); cb(); } });
  return {
    internet, dir, statePath, logs,
    dns: { resolvers: [{ host: '127.0.0.1', port }], authPort: port, timeoutMs: 1000 },
    log: createLogger({ level: 'trace', destination: sink }),
    config: (records, extra = {}) => configSchema.parse({ ip: { families: [4, 6] }, ...extra, records, state: statePath }),
    async close() {
      await internet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A settable clock. */
export function clock(start = Date.parse('2026-11-22T05:00:00Z')): { now: () => Date; advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => { t += ms; } };
}
