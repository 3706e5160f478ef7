import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseXml, path, text, children, escapeXml } from '../../src/portmap/upnp/xml.js';

test('parseXml rejects a DOCTYPE before parsing (billion laughs never reaches the parser)', () => {
  const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><root>&lol2;</root>';
  const r = parseXml(bomb);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.why : '', /DOCTYPE or ENTITY/);
});

test('parseXml rejects ENTITY declarations in any case and spacing', () => {
  for (const s of ['<!ENTITY x "y"><a/>', '<a><! entity x "y"></a>', '<!doctype a><a/>']) assert.equal(parseXml(s).ok, false, s);
});

test('parseXml decodes the predefined entities and strips namespace prefixes', () => {
  const r = parseXml('<s:Envelope xmlns:s="x"><s:Body><u:R xmlns:u="y"><A>a &lt;b&gt; &amp; c</A></u:R></s:Body></s:Envelope>');
  assert.ok(r.ok);
  assert.equal(text(path(r.root, 'Envelope', 'Body', 'R', 'A')), 'a <b> & c');
});

test('parseXml refuses oversized and deeply nested documents without throwing', () => {
  assert.equal(parseXml(`<a>${'x'.repeat(2000)}</a>`, 1000).ok, false);
  assert.equal(parseXml(`${'<a>'.repeat(200)}${'</a>'.repeat(200)}`).ok, false);
  assert.equal(parseXml('not xml at all').ok, false);
  assert.equal(parseXml('<a><b></a>').ok, false);
});

test('a document naming __proto__ or constructor is refused and pollutes nothing', () => {
  for (const name of ['__proto__', 'constructor', 'prototype']) {
    const r = parseXml(`<root><${name}><polluted>1</polluted></${name}><a>1</a></root>`);
    assert.equal(r.ok, false, name);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('tree access looks at own properties only: inherited names are not children', () => {
  const r = parseXml('<root><a>1</a></root>');
  assert.ok(r.ok);
  const root = path(r.root, 'root');
  assert.deepEqual(children(root, 'toString'), []);
  assert.deepEqual(children(root, 'hasOwnProperty'), []);
  assert.equal(text(path(root, 'a')), '1');
});

test('text strips control characters and caps length', () => {
  assert.equal(text('a\u0001b\u007fc\u009fd'), 'abcd');
  assert.equal(text('x'.repeat(500), 10), 'x'.repeat(10));
  assert.equal(text({ child: 'x' }), undefined);
});

test('escapeXml escapes the five XML specials', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});
