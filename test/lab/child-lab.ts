/**
 * A lab in a separate process, for the tests that kill a lab's owner (cycles.test.ts):
 *   node --import tsx test/lab/child-lab.ts <scenario> [--no-fixtures] [--throw]
 * prints one JSON line `{ id, hosts, dir, pids }` once the lab is up, then waits to be signalled
 * (or, with --throw, dies of an uncaught exception a moment later).
 */
import { startLab } from './lab.js';
import { isScenario } from './topology.js';

const scenario = process.argv[2] ?? 'healthy';
if (!isScenario(scenario)) {
  process.stderr.write(`unknown scenario ${scenario}\n`);
  process.exit(2);
}
const lab = await startLab(scenario, { fixtures: !process.argv.includes('--no-fixtures') });
const pids: number[] = [];
for (const ns of Object.values(lab.hosts)) {
  const r = await lab.exec('lan', ['ip', 'netns', 'pids', ns]);
  pids.push(...r.stdout.split(/\s+/).filter(Boolean).map(Number));
}
process.stdout.write(`${JSON.stringify({ id: lab.id, hosts: lab.hosts, dir: lab.dir, pids })}\n`);
if (process.argv.includes('--throw')) setTimeout(() => { throw new Error('child-lab: deliberate uncaught exception'); }, 200);
setInterval(() => { /* wait for a signal */ }, 60_000);
