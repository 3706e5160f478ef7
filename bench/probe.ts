/**
 * The probe under attack, on loopback, bounded (stops by itself): `ddns probe serve`'s server in a child
 * process; from here 1,600 slowloris connections (16 from each of 100 loopback addresses, one header line
 * every second), a token-guessing loop, and 1,000 parallel valid requests; meanwhile a fresh client from
 * another address asks GET /ip 20 times. Figures: that client's median and worst latency, and the
 * child's peak RSS (VmHWM) — the probe's memory under all of it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median, type Figure } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-probe-token-0123456789abcdef';

function get(port: number, localAddress: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ip', localAddress, agent: false, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function benchProbe(): Promise<Figure[]> {
  const code = `const { startProbeServer } = await import(${JSON.stringify(new URL('../src/reach/server.ts', import.meta.url).href)});
    const s = await startProbeServer({ host: '127.0.0.1', port: 0 }, { token: ${JSON.stringify(TOKEN)}, rate: { burst: 10000, perMinute: 600000 } });
    process.stdout.write(s.address.port + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const socks: Socket[] = [];
  let stop = false;
  try {
    for (let a = 1; a <= 100; a++) {
      for (let i = 0; i < 16; i++) {
        const s = connect({ host: '127.0.0.1', port, localAddress: `127.1.0.${a}` });
        s.on('error', () => {});
        s.once('connect', () => s.write('GET /ip HTTP/1.1\r\nHost: x\r\n'));
        socks.push(s);
      }
    }
    const drip = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('X-Slow: 1\r\n'); }, 1000);
    const guesses = (async () => { let n = 0; while (!stop && n < 5000) { await get(port, `127.4.0.${1 + (n % 50)}`, `guess-${n}`); n++; } })();
    const valid = Promise.all(Array.from({ length: 1000 }, (_, i) => get(port, `127.5.${i >> 8}.${(i & 255) || 1}`, TOKEN)));
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const st = await get(port, '127.2.0.1', TOKEN);
      lat.push(st === 200 ? performance.now() - t0 : 10_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    const okValid = (await valid).filter((s) => s === 200).length;
    stop = true;
    await guesses;
    clearInterval(drip);
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const how = '1,600 slowloris conns (16 × 100 addresses), token guessing, 1,000 parallel valid GET /ip, on loopback';
    return [
      { figure: 'probe: fresh client GET /ip under attack, median', unit: 'ms', ours: Math.round(median(lat)), target: '≤ 1000 ms', met: median(lat) <= 1000, note: `${how}; 20 samples; ${okValid}/1000 valid requests answered 200` },
      { figure: 'probe: fresh client GET /ip under attack, worst', unit: 'ms', ours: Math.round(Math.max(...lat)), target: '≤ 1000 ms', met: Math.max(...lat) <= 1000, note: `${how}; samples in order (ms): ${lat.map((x) => Math.round(x)).join(' ')}` },
      { figure: 'probe: peak RSS under attack', unit: 'MiB', ours: Math.round(hwm), note: `VmHWM of the probe process; ${how}` },
    ];
  } finally {
    stop = true;
    for (const s of socks) s.destroy();
    child.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchProbe(), null, 2));
