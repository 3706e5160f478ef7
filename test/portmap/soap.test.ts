import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEnvelope, parseSoapResponse, soapCall } from '../../src/portmap/upnp/soap.js';
import { closeHttp } from '../../src/portmap/upnp/http.js';
import { fakeHttp, soapFault, soapOk } from './helpers/fakes.js';

const ST = 'urn:schemas-upnp-org:service:WANIPConnection:1';

test('buildEnvelope keeps the argument order and escapes every value', () => {
  const x = buildEnvelope(ST, 'AddPortMapping', [['NewRemoteHost', ''], ['NewExternalPort', '80'], ['NewPortMappingDescription', '<b>&"x"']]);
  assert.match(x, /<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewRemoteHost><\/NewRemoteHost><NewExternalPort>80<\/NewExternalPort><NewPortMappingDescription>&lt;b&gt;&amp;&quot;x&quot;<\/NewPortMappingDescription><\/u:AddPortMapping>/);
  assert.match(x, /s:encodingStyle="http:\/\/schemas.xmlsoap.org\/soap\/encoding\/"/);
});

test('parseSoapResponse returns the out-arguments of a 200 reply', () => {
  const r = parseSoapResponse('GetExternalIPAddress', 200, soapOk('GetExternalIPAddress', { NewExternalIPAddress: '44.0.0.2' }));
  assert.ok(r.ok);
  assert.equal(r.values.get('NewExternalIPAddress'), '44.0.0.2');
});

test('parseSoapResponse turns a fault into a typed UPnP error', () => {
  const cases: Array<[number, string]> = [[401, 'invalid-action'], [606, 'not-authorized'], [713, 'array-index-invalid'], [714, 'no-such-entry'], [718, 'conflict'], [724, 'same-port-required'], [725, 'only-permanent-leases'], [999, 'other']];
  for (const [code, kind] of cases) {
    const r = parseSoapResponse('AddPortMapping', 500, soapFault(code));
    assert.ok(!r.ok && r.failure.kind === 'upnp' && r.failure.code === code && r.failure.error === kind, String(code));
  }
});

test('parseSoapResponse: a non-XML 500 is a transport failure, a 200 for another action is malformed', () => {
  const a = parseSoapResponse('X', 500, 'Internal error');
  assert.ok(!a.ok && a.failure.kind === 'transport');
  const b = parseSoapResponse('GetStatusInfo', 200, soapOk('GetExternalIPAddress', { NewExternalIPAddress: '1.2.3.4' }));
  assert.ok(!b.ok && b.failure.kind === 'malformed');
  const c = parseSoapResponse('X', 500, '<s:Envelope><s:Body><s:Fault><faultcode>x</faultcode></s:Fault></s:Body></s:Envelope>');
  assert.ok(!c.ok && c.failure.kind === 'malformed');
});

test('soapCall posts with the quoted SOAPAction, text/xml and a byte-counted Content-Length', async () => {
  const srv = await fakeHttp('127.0.0.1', (_r, res) => { res.statusCode = 200; res.end(soapOk('AddPortMapping', {})); });
  try {
    const desc = 'café ☕ <ddns>';
    const r = await soapCall(new URL(`${srv.base}/ctl`), ST, 'AddPortMapping', [['NewPortMappingDescription', desc]]);
    assert.ok(r.ok);
    const seen = srv.seen[0]!;
    assert.equal(seen.headers.soapaction, `"${ST}#AddPortMapping"`);
    assert.equal(seen.headers['content-type'], 'text/xml; charset="utf-8"');
    assert.equal(Number(seen.headers['content-length']), Buffer.byteLength(seen.body, 'utf8'));
    assert.ok(Buffer.byteLength(seen.body) > seen.body.length, 'the body has multi-byte characters');
    assert.match(seen.body, /café ☕ &lt;ddns&gt;/);
    assert.equal(seen.headers.connection, 'close');
  } finally {
    await srv.close();
    await closeHttp();
  }
});

for (const transport of ['node', 'undici'] as const) {
  test(`the ${transport} transport: no redirects, byte caps, connect and total timeouts, local address`, async () => {
    const { httpRequest, setHttpTransport } = await import('../../src/portmap/upnp/http.js');
    setHttpTransport(transport);
    const decoy = await fakeHttp('127.0.0.2', (_r, res) => res.end('decoy'));
    const srv = await fakeHttp('127.0.0.1', (r, res) => {
      if (r.path === '/redirect') { res.statusCode = 302; res.setHeader('location', `${decoy.base}/`); return res.end(); }
      if (r.path === '/big') return res.end('x'.repeat(10_000));
      if (r.path === '/silent') return;
      res.end('ok');
    });
    try {
      const get = (path: string, o: Partial<Parameters<typeof httpRequest>[1]> = {}) => httpRequest(new URL(`${srv.base}${path}`), { method: 'GET', maxBytes: 1000, timeoutMs: 15_000, ...o });
      const r = await get('/redirect');
      assert.ok(r.ok && r.status === 302);
      assert.equal(decoy.seen.length, 0);
      const big = await get('/big');
      assert.ok(!big.ok && big.kind === 'too-large');
      const silent = await get('/silent', { timeoutMs: 500 });
      assert.ok(!silent.ok && silent.kind === 'timeout', JSON.stringify(silent));
      const bound = await get('/', { localAddress: '127.0.0.3' });
      assert.ok(bound.ok);
      assert.equal(srv.seen.at(-1)?.headers['x-never'], undefined);
      const refused = await httpRequest(new URL('http://127.0.0.1:1/'), { method: 'GET', maxBytes: 10, timeoutMs: 15_000 });
      assert.ok(!refused.ok && refused.kind === 'network');
      const hostname = await httpRequest(new URL('http://localhost:1/'), { method: 'GET', maxBytes: 10 });
      assert.ok(!hostname.ok && hostname.kind === 'bad-url');
    } finally {
      setHttpTransport('node');
      await srv.close();
      await decoy.close();
      await closeHttp();
    }
  });
}
