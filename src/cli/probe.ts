/** `ddns probe serve`: the self-hostable reachability probe (run it on a machine outside, e.g. a VPS). */
import type { Command } from 'commander';
import { parseListen } from '../net/listen.js';
import { action, CliError, EXIT } from './context.js';
import { loadContext } from './config-load.js';
import { untilInterrupt } from './interrupt.js';

export function register(program: Command): void {
  const probe = program.command('probe').description('the reachability probe that `ddns check` asks from outside');
  probe
    .command('serve')
    .description('serve the probe API (POST /v1/reach, echoip GET /port/N); it only ever connects back to the caller')
    .option('--listen <host:port>', 'address to listen on', '[::]:8080')
    .option('--cert <file>', 'TLS certificate (PEM) — serve HTTPS itself instead of behind a TLS proxy')
    .option('--key <file>', 'TLS private key (PEM), with --cert')
    .option('--token-file <file>', 'file holding the bearer token (default: probe.token from the configuration)')
    .option('--trust-proxy', 'behind a local TLS proxy that appends or overwrites X-Forwarded-For: the caller is its last entry (only from loopback peers)')
    .option('--allow-private-callers', 'also connect back to loopback, private and other non-public callers (a probe on a LAN or in a lab; never on the internet)')
    .option('--rate <n>', 'checks per minute per client', '30')
    .action(action(async (opts: { listen: string; cert?: string; key?: string; tokenFile?: string; trustProxy?: boolean; allowPrivateCallers?: boolean; rate: string }, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const listen = parseListen(opts.listen);
      if (!listen) throw new CliError(`--listen: "${opts.listen}" is not HOST:PORT (e.g. 0.0.0.0:8080 or [::]:443)`, EXIT.usage);
      if ((opts.cert === undefined) !== (opts.key === undefined)) throw new CliError('--cert and --key go together', EXIT.usage);
      const rate = Number(opts.rate);
      if (!Number.isInteger(rate) || rate < 1 || rate > 10_000) throw new CliError(`--rate: "${opts.rate}" is not a whole number 1–10000`, EXIT.usage);
      const { readFile } = await import('node:fs/promises');
      const read = async (f: string, what: string) => {
        try { return await readFile(f); } catch (err) { throw new CliError(`${what} ${f}: ${(err as Error).message}`, EXIT.usage); }
      };
      const token = opts.tokenFile ? (await read(opts.tokenFile, '--token-file')).toString('utf8').trim() : ctx.config.probe?.token;
      if (opts.tokenFile && !token) throw new CliError(`--token-file ${opts.tokenFile} is empty`, EXIT.usage);
      const { PROBE_TOKEN_MIN_BYTES, probeTokenTooShort } = await import('../config/plain.js');
      if (token !== undefined && Buffer.byteLength(token, 'utf8') < PROBE_TOKEN_MIN_BYTES) {
        throw new CliError(`${opts.tokenFile ? `--token-file ${opts.tokenFile}` : 'probe.token'}: the token ${probeTokenTooShort}`, EXIT.usage);
      }
      const tls = opts.cert && opts.key ? { cert: await read(opts.cert, '--cert'), key: await read(opts.key, '--key') } : undefined;
      const { startProbeServer } = await import('../reach/server.js');
      const serverOptions = {
        ...(token ? { token } : {}), ...(tls ? { tls } : {}), trustProxy: opts.trustProxy === true, allowPrivateCallers: opts.allowPrivateCallers === true,
        rate: { burst: Math.min(rate, 20), perMinute: rate },
        // An attack that begins as the probe starts meets optimised code (src/reach/warmup.ts).
        warmUp: true,
        log: (e: Record<string, unknown>) => ctx.log.info(e),
      };
      let srv;
      try {
        srv = await startProbeServer(listen, serverOptions).catch((err: NodeJS.ErrnoException) => {
          // A host without IPv6 cannot bind [::]: serve IPv4 only.
          if (listen.host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return startProbeServer({ host: '0.0.0.0', port: listen.port }, serverOptions);
          throw err;
        });
      } catch (err) {
        throw new CliError(`cannot listen on ${opts.listen}: ${(err as Error).message}`, EXIT.failed);
      }
      if (!token) ctx.log.warn({ event: 'probe.open' }, 'no token: anyone may ask this probe to test their own address (like echoip)');
      ctx.log.info({ event: 'probe.listening', host: srv.address.host, port: srv.address.port, tls: tls !== undefined });
      process.stderr.write(`ddns probe listening on ${tls ? 'https' : 'http'}://${srv.address.host.includes(':') ? `[${srv.address.host}]` : srv.address.host}:${srv.address.port}\n`);
      await untilInterrupt();
      await srv.close();
    }));
}
