/**
 * The one atomic file writer: state, the port-mapping ledger and anything else ddns keeps on disk.
 *
 * Contract:
 * - The new content lands under a random temp name in the target's own directory, opened with
 *   O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600 (fchmod'ed too, so neither the umask nor a leftover file
 *   decides the permissions). A symlink planted at the temp name or at the target is never followed:
 *   O_EXCL refuses the first, rename replaces the second.
 * - The file is fsynced, renamed over the target, and the directory fsynced: a kill at any point leaves
 *   either the old or the new file, never a mix. On failure the temp file is removed and the error thrown.
 * - Temp files that killed writers left behind (older than a minute, so no live writer's) are swept.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdir, open, lstat, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface AtomicWriteOptions {
  /** Mode of a directory created for the file (default 0700). An existing directory is left alone. */
  dirMode?: number;
  /** Injected for tests: the temp name's random part. */
  random?: () => string;
}

const FILE_MODE = 0o600;

/** The temp name pattern for `file`: `.<base>.<random>.tmp` beside it. */
function tempName(file: string, random: string): string {
  return join(dirname(file), `.${basename(file)}.${random}.tmp`);
}

/** Writes `data` to `path` atomically (see the module contract). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): Promise<void> {
  const file = resolve(path);
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: o.dirMode ?? 0o700 });
  const tmp = tempName(file, o.random?.() ?? randomBytes(8).toString('hex'));
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, FILE_MODE);
  try {
    try {
      await fh.chmod(FILE_MODE);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY).catch(() => undefined);
  if (dh) {
    await dh.sync().catch(() => undefined); // some filesystems refuse fsync on a directory
    await dh.close();
  }
  await sweepTemps(file);
}

/** `writeFileAtomic` of `value` as indented JSON with a final newline. */
export async function writeJsonAtomic(path: string, value: unknown, o: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, o);
}

/** Removes this file's temp files older than a minute (a killed writer's; a live one's is younger). */
async function sweepTemps(file: string, now = Date.now()): Promise<void> {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const p = join(dir, n);
    const st = await lstat(p).catch(() => undefined);
    if (st && st.mtimeMs < now - 60_000) await unlink(p).catch(() => undefined);
  }
}
