import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDescription, confineUrl } from '../../src/portmap/upnp/description.js';
import { description } from './helpers/fakes.js';

const loc = new URL('http://192.168.1.1:5000/rootDesc.xml');

test('parseDescription walks IGD → WANDevice → WANConnectionDevice and resolves the control URL', () => {
  const r = parseDescription(description(), loc);
  assert.ok(r.ok);
  assert.equal(r.description.igdVersion, 1);
  assert.deepEqual(r.description.services.map((s) => [s.kind, s.version, s.controlUrl.href]), [['WANIPConnection', 1, 'http://192.168.1.1:5000/ctl/IPConn']]);
});

test('parseDescription finds WANIPConnection:2, WANPPPConnection:1 and WANIPv6FirewallControl:1', () => {
  const extra = '<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>/ppp</controlURL></service>'
    + '<service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType><controlURL>/fw</controlURL></service>';
  const r = parseDescription(description({ serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2', deviceType: 'urn:schemas-upnp-org:device:InternetGatewayDevice:2', extraServices: extra }), loc);
  assert.ok(r.ok);
  assert.equal(r.description.igdVersion, 2);
  assert.deepEqual(r.description.services.map((s) => `${s.kind}:${s.version}`), ['WANIPConnection:2', 'WANPPPConnection:1', 'WANIPv6FirewallControl:1']);
});

const confinement: Array<[string, string | undefined]> = [
  ['/ctl', 'http://192.168.1.1:5000/ctl'],
  ['ctl', 'http://192.168.1.1:5000/ctl'],
  ['http://192.168.1.1:5000/x', 'http://192.168.1.1:5000/x'],
  ['http://192.168.1.2:5000/x', undefined], // another host
  ['http://192.168.1.1:5001/x', undefined], // another port
  ['http://8.8.8.8/x', undefined],
  ['https://192.168.1.1:5000/x', undefined],
  ['//evil.example/x', undefined],
  ['http://user@192.168.1.1:5000/x', undefined],
  ['file:///etc/passwd', undefined],
  ['', undefined],
  ['/a b', undefined],
];
for (const [ref, want] of confinement) {
  test(`confineUrl ${want ? 'keeps' : 'drops'} ${JSON.stringify(ref)}`, () => {
    assert.equal(confineUrl(ref, loc, loc)?.href, want);
  });
}

test('a control URL on another host is dropped and named in rejected', () => {
  const r = parseDescription(description({ control: 'http://10.9.9.9:80/ctl' }), loc);
  assert.ok(r.ok);
  assert.equal(r.description.services.length, 0);
  assert.match(r.description.rejected[0] ?? '', /10\.9\.9\.9/);
});

test('URLBase on another host is ignored; relative control URLs resolve against LOCATION', () => {
  const r = parseDescription(description({ urlBase: 'http://10.9.9.9:80/' }), loc);
  assert.ok(r.ok);
  assert.equal(r.description.services[0]?.controlUrl.href, 'http://192.168.1.1:5000/ctl/IPConn');
});

test('URLBase on the same host:port is honoured', () => {
  const r = parseDescription(description({ urlBase: 'http://192.168.1.1:5000/base/', control: 'ctl' }), loc);
  assert.ok(r.ok);
  assert.equal(r.description.services[0]?.controlUrl.href, 'http://192.168.1.1:5000/base/ctl');
});

test('parseDescription refuses documents that are not descriptions', () => {
  for (const s of ['<html><body>hi</body></html>', '<root></root>', '<!DOCTYPE root><root/>', '']) assert.equal(parseDescription(s, loc).ok, false, s);
});
