/**
 * docker/healthcheck.sh, the image's HEALTHCHECK: GET /readyz through bash's /dev/tcp (no node process),
 * against a real HTTP server on loopback. 200 → 0; 503 → 1; nothing listening → it hands over to
 * `node /app/ddns.mjs health`, which (absent here) fails: non-zero either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

const script = resolve(import.meta.dirname, '../../docker/healthcheck.sh');

function runCheck(listen: string): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn('bash', [script], { env: { PATH: process.env.PATH ?? '', DDNS_DAEMON_LISTEN: listen }, stdio: 'ignore' });
    child.on('close', (code) => done(code));
  });
}

test('healthcheck.sh: 200 on /readyz is healthy, 503 is not, and it asks for /readyz', async () => {
  let status = 200;
  const paths: string[] = [];
  const srv = createServer((req, res) => { paths.push(req.url ?? ''); res.statusCode = status; res.end('{}'); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const listen = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    assert.equal(await runCheck(listen), 0);
    status = 503;
    assert.equal(await runCheck(listen), 1);
    assert.deepEqual(paths, ['/readyz', '/readyz']);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('healthcheck.sh: nothing listening is unhealthy (the node fallback decides, and is absent here)', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  const code = await runCheck(`127.0.0.1:${port}`);
  assert.notEqual(code, 0);
});
