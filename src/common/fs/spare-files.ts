import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * A few empty hidden files made ahead of time in one folder, for a writer that needs new files per request.
 * Making a file (a new inode) is the slowest step of a small write on some volumes: 0.7-1.5 ms on the ext4 of
 * our 2-core VMs, against 0.01 ms to open a file that exists and 0.02-0.04 ms to rename one. A writer that takes
 * a spare pays the open, the write and the rename; the spare is replaced after its request, off its path.
 * Spares are named like stageFile's temporary files (`.spare.<random>.tmp`), so whatever sweeps those at start
 * sweeps leftover spares too.
 */
export class SpareFiles {
  private readonly ready: string[] = [];
  private making?: Promise<void>;
  private closed = false;

  constructor(
    readonly dir: string,
    readonly size = 8,
    private readonly mode = 0o644,
  ) {}

  /** An empty file of ours to write over and rename, or undefined when none is ready. */
  take(): string | undefined {
    return this.ready.pop();
  }

  /**
   * Makes spares until `size` are ready, in the background; a failure (no folder, a full disk) leaves fewer.
   * Returns the making (it never rejects) to wait for, or null when there is nothing to make.
   */
  fill(): Promise<void> | null {
    if (this.making || this.closed || this.ready.length >= this.size) return null;
    this.making = this.make().finally(() => (this.making = undefined));
    return this.making;
  }

  /** Removes the spares not taken, once the one being made is there; fill() does nothing afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.making;
    await Promise.all(this.ready.splice(0).map((f) => fs.rm(f, { force: true }).catch(() => undefined)));
  }

  private async make(): Promise<void> {
    try {
      while (!this.closed && this.ready.length < this.size) {
        const file = path.join(this.dir, `.spare.${randomBytes(6).toString('hex')}.tmp`);
        await fs.writeFile(file, '', { flag: 'wx', mode: this.mode });
        if (this.closed) await fs.rm(file, { force: true });
        else this.ready.push(file);
      }
    } catch {
      // The writer creates its own files meanwhile.
    }
  }
}

/** Names SpareFiles gives its files. */
export const SPARE_FILE = /^\.spare\.[0-9a-f]{12}\.tmp$/;
