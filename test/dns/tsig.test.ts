import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readName } from '../../src/dns/names.js';
import { appendTsig, decodeKeySecret, signMessage, signResponse, splitTsig, type TsigKey, verifyRequest, verifyResponse } from '../../src/dns/tsig.js';
import { buildReplaceUpdate, readUpdateAnswer } from '../../src/dns/update.js';

/**
 * Captured from the reference client, `nsupdate` (BIND 9.18) with `-y ALG:ddns-key:SECRET`, sent to a
 * loopback UDP listener: zone example.test, `update delete home.example.test A`, `update add
 * home.example.test 60 A 44.0.0.2` (and the same for AAAA 2a01:4f8::2 in the sha512 capture).
 * nsupdate compresses names; the MAC covers the bytes as sent.
 */
const SECRET = 'a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=';
const NSUPDATE_SHA256 = '808d28000001000000020001076578616d706c650474657374000006000104686f6d65c00c000100ff000000000000c01e000100010000003c00042c0000020864646e732d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0cb63a012c002003709f71a540635d350546407a3132c5f681340a1ae749ae585e44b2f0f25187808d00000000';
const NSUPDATE_SHA256_TIME = 0x6b0cb63a;
const NSUPDATE_SHA512 = 'd5ca28000001000000040001076578616d706c650474657374000006000104686f6d65c00c000100ff000000000000c01e000100010000003c00042c000002c01e001c00ff000000000000c01e001c00010000003c00102a0104f80000000000000000000000020864646e732d6b65790000fa00ff00000000005d0b686d61632d7368613531320000006b0cb62c012c004064ce36f63c5edd3d518f8ac395554ff0c90b220a910e1b09ade3e1224ce836e0e7ac83cf002481a53ee55b0922de3451235e730976ac3d8e556c4b57a26055b0d5ca00000000';
const NSUPDATE_SHA512_TIME = 0x6b0cb62c;

const key = (algorithm: TsigKey['algorithm'], secret = SECRET, name = 'ddns-key'): TsigKey => ({ name, algorithm, secret: decodeKeySecret(secret) as Buffer });

describe('TSIG against the reference client (nsupdate captures)', () => {
  test('our verifier accepts nsupdate\'s hmac-sha256 signature', () => {
    const v = verifyRequest(Buffer.from(NSUPDATE_SHA256, 'hex'), [key('hmac-sha256')], NSUPDATE_SHA256_TIME + 1);
    assert.equal(v.ok, true, JSON.stringify(v));
  });
  test('our verifier accepts nsupdate\'s hmac-sha512 signature (names compressed, two RRsets)', () => {
    const v = verifyRequest(Buffer.from(NSUPDATE_SHA512, 'hex'), [key('hmac-sha512')], NSUPDATE_SHA512_TIME);
    assert.equal(v.ok, true, JSON.stringify(v));
  });
  test('the same bytes re-signed by us give nsupdate\'s MAC (same time, same key)', () => {
    const wire = Buffer.from(NSUPDATE_SHA256, 'hex');
    const split = splitTsig(wire);
    assert.ok(split.ok && split.tsig);
    const ours = signMessage(split.unsigned, key('hmac-sha256'), NSUPDATE_SHA256_TIME);
    assert.equal(ours.mac.toString('hex'), split.tsig.mac.toString('hex'));
    assert.equal(ours.wire.toString('hex'), NSUPDATE_SHA256);
  });
  test('one flipped bit in the message → BADSIG; another secret → BADSIG; unknown key → BADKEY; late → BADTIME', () => {
    const wire = Buffer.from(NSUPDATE_SHA256, 'hex');
    const flipped = Buffer.from(wire);
    flipped[40] = (flipped[40] as number) ^ 1;
    assert.deepEqual(pick(verifyRequest(flipped, [key('hmac-sha256')], NSUPDATE_SHA256_TIME)), { ok: false, error: 16 });
    assert.deepEqual(pick(verifyRequest(wire, [key('hmac-sha256', 'b3RoZXJzZWNyZXQ=')], NSUPDATE_SHA256_TIME)), { ok: false, error: 16 });
    assert.deepEqual(pick(verifyRequest(wire, [key('hmac-sha256', SECRET, 'other-key')], NSUPDATE_SHA256_TIME)), { ok: false, error: 17 });
    assert.deepEqual(pick(verifyRequest(wire, [key('hmac-sha512')], NSUPDATE_SHA256_TIME)), { ok: false, error: 17 });
    assert.deepEqual(pick(verifyRequest(wire, [key('hmac-sha256')], NSUPDATE_SHA256_TIME + 301)), { ok: false, error: 18 });
  });
});

function pick(v: ReturnType<typeof verifyRequest>): { ok: boolean; error?: number } {
  return v.ok ? { ok: true } : { ok: false, error: v.error };
}

describe('TSIG answers', () => {
  const k = key('hmac-sha256');
  const now = 1_800_000_000;
  const request = signMessage(buildReplaceUpdate(0x1234, 'example.test', 'home.example.test', 60, [{ type: 'A', addresses: ['44.0.0.2'] }]), k, now);
  const answerTo = (rcode: number): Buffer => {
    const a = Buffer.alloc(12);
    a.writeUInt16BE(0x1234, 0);
    a.writeUInt16BE(0x8000 | (5 << 11) | rcode, 2);
    return a;
  };

  test('a signed NOERROR answer verifies against our request MAC', () => {
    const v = verifyResponse(signResponse(answerTo(0), k, request.mac, now), k, request.mac, now + 2);
    assert.equal(v.ok, true);
  });
  test('an answer signed for another request, with another key, or altered does not verify', () => {
    const other = signMessage(buildReplaceUpdate(0x1234, 'example.test', 'x.example.test', 60, [{ type: 'A', addresses: ['44.0.0.3'] }]), k, now);
    assert.equal(verifyResponse(signResponse(answerTo(0), k, other.mac, now), k, request.mac, now).ok, false);
    assert.equal(verifyResponse(signResponse(answerTo(0), key('hmac-sha256', 'b3RoZXJzZWNyZXQ='), request.mac, now), k, request.mac, now).ok, false);
    const altered = signResponse(answerTo(0), k, request.mac, now);
    altered[3] = (altered[3] as number) | 5; // NOERROR → REFUSED after signing
    assert.equal(verifyResponse(altered, k, request.mac, now).ok, false);
  });
  test('an unsigned answer is not trusted; an unsigned BADKEY/BADSIG answer says which', () => {
    const unsigned = verifyResponse(answerTo(0), k, request.mac, now);
    assert.ok(!unsigned.ok && unsigned.kind === 'untrusted');
    const badkey = verifyResponse(appendTsig(answerTo(9), 'ddns-key', 'hmac-sha256', now, 300, Buffer.alloc(0), 17), k, request.mac, now);
    assert.ok(!badkey.ok && badkey.kind === 'server-error' && badkey.why === 'BADKEY');
    const badsig = verifyResponse(appendTsig(answerTo(9), 'ddns-key', 'hmac-sha256', now, 300, Buffer.alloc(0), 16), k, request.mac, now);
    assert.ok(!badsig.ok && badsig.kind === 'server-error' && badsig.why === 'BADSIG');
  });
  test('a signed BADTIME answer verifies and carries the error; a signed answer far from our clock is refused', () => {
    const badtime = verifyResponse(signResponse(answerTo(9), k, request.mac, now + 3600, 18), k, request.mac, now);
    assert.ok(badtime.ok && badtime.error === 18);
    const late = verifyResponse(signResponse(answerTo(0), k, request.mac, now + 3600), k, request.mac, now);
    assert.ok(!late.ok && late.kind === 'untrusted' && /signed 3600 s/.test(late.why));
  });
  test('malformed answers are values, never exceptions', () => {
    const good = signResponse(answerTo(0), k, request.mac, now);
    for (let cut = 0; cut < good.length; cut++) assert.equal(verifyResponse(good.subarray(0, cut), k, request.mac, now).ok, false, `cut at ${cut}`);
    const loop = Buffer.concat([answerTo(0), Buffer.from([0xc0, 0x0c])]);
    loop.writeUInt16BE(1, 4);
    assert.equal(splitTsig(loop).ok, false);
    assert.equal(readUpdateAnswer(Buffer.alloc(3)).ok, false);
  });
});

describe('RFC 2136 replace message', () => {
  test('zone SOA IN, then per type a delete-RRset (class ANY, TTL 0, no data) and an add with the TTL', () => {
    const m = buildReplaceUpdate(7, 'Example.TEST.', 'home.example.test', 120, [{ type: 'A', addresses: ['44.0.0.2'] }, { type: 'AAAA', addresses: ['2a01:4f8::2'] }]);
    assert.equal(m.readUInt16BE(2), 5 << 11);
    assert.deepEqual([4, 6, 8, 10].map((o) => m.readUInt16BE(o)), [1, 0, 4, 0]);
    const zone = readName(m, 12);
    assert.equal(zone.name, 'example.test');
    assert.deepEqual([m.readUInt16BE(zone.next), m.readUInt16BE(zone.next + 2)], [6, 1]);
    let off = zone.next + 4;
    const rrs: Array<[string, number, number, number, string]> = [];
    for (let i = 0; i < 4; i++) {
      const n = readName(m, off);
      const len = m.readUInt16BE(n.next + 8);
      rrs.push([n.name, m.readUInt16BE(n.next), m.readUInt16BE(n.next + 2), m.readUInt32BE(n.next + 4), m.subarray(n.next + 10, n.next + 10 + len).toString('hex')]);
      off = n.next + 10 + len;
    }
    assert.equal(off, m.length);
    assert.deepEqual(rrs, [
      ['home.example.test', 1, 255, 0, ''],
      ['home.example.test', 1, 1, 120, '2c000002'],
      ['home.example.test', 28, 255, 0, ''],
      ['home.example.test', 28, 1, 120, '2a0104f8000000000000000000000002'],
    ]);
  });
  test('key secrets must be base64', () => {
    assert.equal(decodeKeySecret('not base64!'), undefined);
    assert.equal(decodeKeySecret('abc'), undefined);
    assert.equal(decodeKeySecret(SECRET)?.length, 32);
  });
});
