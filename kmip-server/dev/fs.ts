/**
 * File helpers for dev mode: every write goes to a temporary file in the same directory, is
 * flushed, given its final mode, and renamed over the target, so a crash never leaves a torn file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const PRIVATE_MODE = 0o600;
export const PUBLIC_MODE = 0o644;
export const PRIVATE_DIR_MODE = 0o700;

export async function ensureDir(path: string, mode = 0o755): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode); // exact mode, whatever the umask
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // Make the rename durable; some platforms cannot open a directory for fsync.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}

/** Writes only when the content differs; always enforces `mode`. Returns whether it wrote. */
export async function writeIfChanged(path: string, content: string, mode: number): Promise<boolean> {
  const existing = await readIfExists(path);
  if (existing === content) {
    await enforceMode(path, mode);
    return false;
  }
  await writeFileAtomic(path, content, mode);
  return true;
}

/** Tightens a file's permission bits to `mode` if they differ (e.g. a key someone chmod'ed 644). */
export async function enforceMode(path: string, mode: number): Promise<void> {
  const s = await stat(path);
  if ((s.mode & 0o777) !== mode) await chmod(path, mode);
}
