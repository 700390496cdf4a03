import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TEMP_FILE, writeFileAtomic } from '../../common/fs/atomic-write';
import { AppConfig, appConfig } from '../../config/app.config';
import { OpenedOutput, OutputStore, SweepResult } from './output-store';
import { isSafeFileName, resolveOutput } from './output-names';
import { OutputsConfig, outputsConfig } from './outputs.config';

/** A temporary file this old is what a crash left behind, not a write in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * OUTPUT_DIR on the local file system, its only writer. Writes are atomic (temporary file, then rename), so
 * a reader never sees half an image. Retention: a sweep at start-up, every OUTPUT_SWEEP_INTERVAL_S, and as
 * soon as writes take the folder past OUTPUT_MAX_BYTES, deletes files older than OUTPUT_MAX_AGE_S and then
 * the oldest until the folder fits its budget, plus temporary files a crash left.
 */
@Injectable()
export class FsOutputStore implements OutputStore, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('FsOutputStore');
  private readonly dir: string;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<SweepResult>;
  /** Bytes in the folder as of the last sweep plus what was written since (an estimate; the sweep is exact). */
  private bytes = 0;

  constructor(
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(outputsConfig.KEY) private readonly config: OutputsConfig,
  ) {
    this.dir = path.resolve(app.OUTPUT_DIR);
  }

  onModuleInit(): void {
    void this.sweep();
    if (this.config.OUTPUT_SWEEP_INTERVAL_S > 0) {
      this.timer = setInterval(() => void this.sweep(), this.config.OUTPUT_SWEEP_INTERVAL_S * 1000);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async write(name: string, data: Buffer): Promise<string> {
    const file = resolveOutput(this.dir, name);
    if (!file) throw new Error(`unsafe output file name ${JSON.stringify(name)}`);
    await writeFileAtomic(file, data);
    this.bytes += data.length;
    if (this.config.OUTPUT_MAX_BYTES > 0 && this.bytes > this.config.OUTPUT_MAX_BYTES) void this.sweep();
    return file;
  }

  async open(name: string): Promise<OpenedOutput | null> {
    const file = resolveOutput(this.dir, name);
    if (!file) return null;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return null;
    }
    const stat = await handle.stat();
    if (stat.isFile()) return { handle, size: stat.size };
    await handle.close();
    return null;
  }

  async remove(name: string): Promise<boolean> {
    const file = resolveOutput(this.dir, name);
    if (!file) return false;
    try {
      const stat = await fs.lstat(file);
      if (!stat.isFile()) return false;
      await fs.rm(file);
      this.bytes = Math.max(0, this.bytes - stat.size);
      return true;
    } catch {
      return false;
    }
  }

  /** One sweep at a time; a call during one gets its result. */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= this.doSweep()
      .catch((err: unknown) => {
        this.logger.warn(`sweeping ${this.dir} failed: ${String(err)}`);
        return { removed: 0, freedBytes: 0, keptFiles: 0, keptBytes: this.bytes };
      })
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async doSweep(): Promise<SweepResult> {
    const now = Date.now();
    const maxAgeMs = this.config.OUTPUT_MAX_AGE_S * 1000;
    let entries: string[];
    try {
      entries = await fs.readdir(this.dir);
    } catch {
      return { removed: 0, freedBytes: 0, keptFiles: 0, keptBytes: 0 };
    }
    const files: { name: string; mtimeMs: number; size: number }[] = [];
    let removed = 0;
    let freedBytes = 0;
    const drop = async (name: string, size: number) => {
      await fs.rm(path.join(this.dir, name), { force: true });
      removed++;
      freedBytes += size;
    };
    for (const name of entries) {
      const stat = await fs.lstat(path.join(this.dir, name)).catch(() => null);
      if (!stat?.isFile()) continue;
      if (TEMP_FILE.test(name)) {
        if (now - stat.mtimeMs > STALE_TEMP_MS) await drop(name, stat.size);
      } else if (isSafeFileName(name)) {
        if (maxAgeMs > 0 && now - stat.mtimeMs > maxAgeMs) await drop(name, stat.size);
        else files.push({ name, mtimeMs: stat.mtimeMs, size: stat.size });
      }
    }
    let total = files.reduce((s, f) => s + f.size, 0);
    if (this.config.OUTPUT_MAX_BYTES > 0 && total > this.config.OUTPUT_MAX_BYTES) {
      files.sort((a, b) => a.mtimeMs - b.mtimeMs);
      while (files.length > 0 && total > this.config.OUTPUT_MAX_BYTES) {
        const oldest = files.shift()!;
        await drop(oldest.name, oldest.size);
        total -= oldest.size;
      }
    }
    this.bytes = total;
    if (removed > 0)
      this.logger.log(`removed ${removed} generated file(s) (${freedBytes} bytes) from ${this.dir}`);
    return { removed, freedBytes, keptFiles: files.length, keptBytes: total };
  }
}
