import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { parseReply } from '../../src/dns/wire.js';

const ID = 4242;
const answer = { type: 'A' as const, name: 'myip.opendns.com', ttl: 0, class: 'IN' as const, data: '44.0.0.2' };
const question = { type: 'A' as const, name: 'myip.opendns.com', class: 'IN' as const };
const encode = (questions: dnsPacket.Question[], id = ID) => dnsPacket.encode({ type: 'response', id, flags: 0, questions, answers: [answer] });

const cases: Array<[string, Buffer, boolean]> = [
  ['our question, our id', encode([question]), true],
  ['our question in other letter case', encode([{ ...question, name: 'MyIP.OpenDNS.com.' }]), true],
  ['no question section', encode([]), false],
  ['our question and another', encode([question, { ...question, name: 'evil.example' }]), false],
  ['another name', encode([{ ...question, name: 'evil.example' }]), false],
  ['another type', encode([{ ...question, type: 'TXT' }]), false],
  ['another id', encode([question], ID + 1), false],
  ['garbage', Buffer.from([1, 2, 3]), false],
];
for (const [name, buf, ok] of cases) {
  test(`parseReply ${ok ? 'accepts' : 'drops'} a reply with ${name}`, () => {
    assert.equal(parseReply(buf, ID, 'myip.opendns.com', 'A').ok, ok);
  });
}
