/**
 * Runs the fixture servers (test/fixtures/internet-main.ts) inside the lab's internet host and makes the
 * LAN resolve every name they serve to it. The lab PKI is made in the run directory, so the CA the
 * LAN's clients trust is `<dir>/ca.pem` (Lab.ddnsEnv's NODE_EXTRA_CA_CERTS).
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { spawnInternet, type InternetClient } from '../fixtures/client.js';
import type { HostKey } from './topology.js';
import type { ChildProcess, StdioOptions } from 'node:child_process';

export interface FixtureHost {
  dir: string;
  addr: { internet4: string; internet6?: string };
  spawn(host: HostKey, argv: string[], o?: { stdio?: StdioOptions }): ChildProcess;
}

export async function startInternet(lab: FixtureHost): Promise<InternetClient> {
  const addresses = [lab.addr.internet4, ...(lab.addr.internet6 ? [lab.addr.internet6] : [])];
  const fd = openSync(join(lab.dir, 'fixtures.log'), 'a');
  try {
    return await spawnInternet(
      (argv) => lab.spawn('wan', argv, { stdio: ['pipe', 'pipe', fd] }),
      { mode: 'lab', addresses, pkiDir: lab.dir },
      { readyTimeoutMs: 15_000, callTimeoutMs: 10_000 },
    );
  } finally {
    closeSync(fd);
  }
}
