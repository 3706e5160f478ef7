import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSecrets, createLogger, scrubText } from '../src/log.js';

function capture(): { lines: string[]; destination: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

test('the logger redacts secret keys, Authorization headers, URL credentials and token parameters', () => {
  const { lines, destination } = capture();
  const log = createLogger({ level: 'trace', destination });
  log.trace({ event: 'x', password: 'pw-AAAA', record: { token: 'tok-BBBB', apiToken: 'cf-CCCC' } });
  log.debug({ event: 'http', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  log.info({ event: 'req', url: 'https://user:pw-DDDD@dyn.example.net/nic/update?hostname=h&token=tok-EEEE' });
  log.warn('calling https://www.duckdns.org/update?domains=a&token=tok-FFFF now');
  log.error({ err: new Error('failed with Bearer tok-GGGG') }, 'boom');
  // The zone APIs' credentials: Porkbun's body keys, FreeDNS's AAAA token, Hetzner's header.
  log.debug({ event: 'body', body: { apikey: 'pk-HHHH', secretapikey: 'sk-IIII' }, record: { apiKey: 'pk-JJJJ', token6: 'tok-KKKK' }, headers: { 'auth-api-token': 'hz-LLLL' } });
  const out = lines.join('');
  for (const s of ['pw-AAAA', 'tok-BBBB', 'cf-CCCC', 'dXNlcjpwYXNz', 'pw-DDDD', 'tok-EEEE', 'tok-FFFF', 'tok-GGGG', 'pk-HHHH', 'sk-IIII', 'pk-JJJJ', 'tok-KKKK', 'hz-LLLL']) {
    assert.ok(!out.includes(s), `${s} leaked: ${out}`);
  }
  assert.match(out, /dyn\.example\.net/, 'the rest of the URL stays readable');
});

test('registered secret values are cut out of any string, wherever they appear', () => {
  addSecrets(['very-secret-value-123']);
  assert.equal(scrubText('oops: very-secret-value-123 in text'), 'oops: *** in text');
  const { lines, destination } = capture();
  createLogger({ level: 'trace', destination }).trace({ event: 'odd', note: 'x very-secret-value-123 y' });
  assert.ok(!lines.join('').includes('very-secret-value-123'));
});

test('an event logged without a message gets a readable msg from its name; a given message is kept', () => {
  const { lines, destination } = capture();
  const log = createLogger({ level: 'info', destination });
  log.info({ event: 'record.updated', name: 'home.example.net' });
  log.info({ event: 'daemon.started' }, 'ddns is up');
  log.info({ event: 'portmap.leaseRenewed' });
  const msgs = lines.map((l) => (JSON.parse(l) as { msg?: string }).msg);
  assert.deepEqual(msgs, ['record updated', 'ddns is up', 'portmap lease renewed']);
});
