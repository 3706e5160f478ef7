/**
 * Starting the fixture servers (test/fixtures/) inside the lab's internet host. Placeholder until
 * test/fixtures/client.ts lands: without it the lab runs with no fixtures.
 */
import { existsSync } from 'node:fs';
import type { InternetLike, Lab } from './lab.js';

export async function startInternet(_lab: Lab): Promise<InternetLike | undefined> {
  const client = new URL('../fixtures/client.ts', import.meta.url);
  if (!existsSync(client)) return undefined;
  return undefined;
}
