/**
 * Text that came from the network, made safe to show on a terminal or write to a log: the one helper
 * every edge uses (provider answers, STUN/UPnP error texts, banners, TXT records, probe replies).
 *
 * Contract: removes control characters (C0, DEL, C1 — so no ESC/CSI sequence survives), format
 * characters (bidi overrides, zero-width), line/paragraph separators and lone surrogates, replacing each
 * run with `replacement` (default: nothing); the result is one line of at most `max` code points. Pure.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]+/gu;

export function printable(text: string, max = 256, replacement = ''): string {
  const clean = text.replace(UNSAFE, replacement);
  return clean.length <= max ? clean : [...clean].slice(0, max).join('');
}
