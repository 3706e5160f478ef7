/**
 * Output helpers shared by the renderers: JSON documents on stdout, colour that respects
 * --no-color / NO_COLOR / a non-terminal, and plain aligned tables.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Paint { green(s: string): string; red(s: string): string; yellow(s: string): string; dim(s: string): string; bold(s: string): string }

export function paint(enabled: boolean): Paint {
  const on = enabled && process.stdout.isTTY === true;
  const wrap = (code: number, reset: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[${reset}m` : s);
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** Columns padded to the widest cell; ANSI colour codes do not count toward width. */
export function table(rows: string[][]): string {
  // eslint-disable-next-line no-control-regex -- stripping ANSI colour codes is the point
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, visible(c)); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visible(c)))).join('  ').trimEnd()).join('\n');
}
