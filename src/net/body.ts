/**
 * Reading an HTTP response body with a cap counted in bytes (a hostile server may send gigabytes, or lie
 * in Content-Length). One implementation for every HTTP client of ours (providers, echo sources, UPnP).
 */

/** The slice of undici's `res.body` (a Readable) that this needs. */
export interface BodyStream extends AsyncIterable<unknown> {
  destroy(): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
}

export type CappedBody =
  | { ok: true; text: string; bytes: number }
  /** Over the cap: `declared` when Content-Length already said so, else what arrived before the cut. */
  | { ok: false; bytes: number; declared: boolean; partial: string };

/**
 * Reads `body` as UTF-8 up to `maxBytes`. Over the cap (declared or counted) it destroys the stream and
 * reports. Transport errors while reading reject, as the stream's iterator does.
 */
export async function readCapped(body: BodyStream, maxBytes: number, contentLength?: unknown): Promise<CappedBody> {
  // Destroying the stream makes undici emit an error later; it must not become an uncaught one.
  body.on('error', () => { /* the outcome is decided by the read loop below */ });
  const declared = Number(contentLength ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    return { ok: false, bytes: declared, declared: true, partial: '' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      return { ok: false, bytes: size, declared: false, partial: Buffer.concat(chunks).toString('utf8') };
    }
    chunks.push(buf);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8'), bytes: size };
}
