/** Bearer-token check in constant time (both sides hashed to equal length first). */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when the Authorization header carries exactly `Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return bearerCheck(token)(header);
}

/** The same check with the token's digest made once (a server asks it on every request). */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const want = digest(token);
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const given = m?.[1] ?? '';
    // Compare even when the header is absent, so timing says nothing about which check failed.
    return timingSafeEqual(digest(given), want) && given.length > 0;
  };
}
