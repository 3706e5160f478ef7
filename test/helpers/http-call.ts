/** One HTTP request to a loopback test server, its JSON answer parsed: the probe tests' client. */
import { request } from 'node:http';

export interface Reply { status: number; body: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }

export interface CallOptions {
  method?: string;
  token?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  localAddress?: string;
  timeoutMs?: number;
}

/** GET (POST when there is a body) 127.0.0.1:`port` `path`; a bearer token when given. */
export function httpCall(port: number, path: string, o: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'), agent: false,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) as Record<string, unknown> : {}, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
