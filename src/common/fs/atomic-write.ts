import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SpareFiles } from './spare-files';

/** Hidden temporary files of writeFileAtomic: `.<name>.<random>.tmp` beside the target. */
export const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Bytes written under a temporary name beside their target, waiting to be renamed into place or dropped. */
export interface StagedFile {
  readonly file: string;
  /** Renames the temporary file over the target (atomic on one file system). */
  commit(): Promise<void>;
  /** Removes the temporary file; never throws. */
  discard(): Promise<void>;
}

export interface StageOptions {
  mode?: number;
  /** Spare files of `file`'s folder: one is written over instead of making a new file, when one is ready. */
  spares?: SpareFiles;
}

/**
 * Writes `data` to a hidden temporary file in `file`'s folder (created when missing). Nothing is visible
 * under `file` until commit(). No fsync: a process crash keeps what the kernel has (a committed file is
 * whole), but after a power loss the most recent files may be missing or empty.
 */
export async function stageFile(file: string, data: Buffer, options: StageOptions = {}): Promise<StagedFile> {
  const { mode = 0o644, spares } = options;
  const dir = path.dirname(file);
  const spare = spares?.take();
  const tmp = spare ?? path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const discard = () => fs.rm(tmp, { force: true }).catch(() => undefined);
  // A spare exists (empty) unless another instance's start-up swept it: 'w' then makes it again.
  const write = () => fs.writeFile(tmp, data, { mode, flag: spare ? 'w' : 'wx' });
  try {
    await write().catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      // The folder is made on the first write (or again, if someone removed it): a syscall less per file.
      await fs.mkdir(dir, { recursive: true });
      await write();
    });
  } catch (err) {
    await discard(); // a write that failed half-way (a full disk) leaves nothing behind
    throw err;
  }
  return {
    file,
    discard,
    commit: async () => {
      try {
        await fs.rename(tmp, file);
      } catch (err) {
        await discard();
        throw err;
      }
    },
  };
}

/**
 * Writes `file` whole or not at all: the data goes to a hidden temporary file in the same folder, which is
 * then renamed over the target. The folder is created when missing.
 */
export async function writeFileAtomic(file: string, data: Buffer, mode = 0o644): Promise<void> {
  const staged = await stageFile(file, data, { mode });
  await staged.commit();
}
