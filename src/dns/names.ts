/**
 * Domain names on the wire, for the messages `dns-packet` does not build (RFC 2136 updates, TSIG):
 * encode one name uncompressed in canonical form (lower case, RFC 4034 §6.2, as TSIG requires), read one
 * name (following compression pointers, only backwards, at most 127 of them), skip one resource record.
 *
 * Contract: `encodeName` throws on a name that cannot be a DNS name (a label over 63 bytes, a name over
 * 255) — callers pass validated configuration; `readName`/`skipRecord` throw on malformed bytes and are
 * only called inside a try (tsig.ts, update.ts).
 */

export function encodeName(name: string): Buffer {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (n !== '') {
    for (const label of n.split('.')) {
      const b = Buffer.from(label, 'utf8');
      if (b.length === 0 || b.length > 63) throw new Error(`not a DNS name: ${JSON.stringify(name)}`);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new Error(`DNS name too long: ${JSON.stringify(name)}`);
  return out;
}

/** Reads the name at `offset`: its text (lower case, no trailing dot; '' for the root) and where the next field starts. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let off = offset;
  let next: number | undefined;
  for (let jumps = 0; ; ) {
    if (off >= buf.length) throw new Error('name runs past the end');
    const len = buf[off] as number;
    if (len === 0) {
      next ??= off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length) throw new Error('pointer runs past the end');
      const target = ((len & 0x3f) << 8) | (buf[off + 1] as number);
      if (target >= off || ++jumps > 127) throw new Error('bad compression pointer');
      next ??= off + 2;
      off = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Error('bad label type');
    if (off + 1 + len > buf.length) throw new Error('label runs past the end');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** The offset just past the resource record at `offset`. */
export function skipRecord(buf: Buffer, offset: number): number {
  const off = readName(buf, offset).next;
  if (off + 10 > buf.length) throw new Error('record runs past the end');
  const end = off + 10 + buf.readUInt16BE(off + 8);
  if (end > buf.length) throw new Error('record data runs past the end');
  return end;
}
