import type { FileHandle } from 'node:fs/promises';

/** The images the service generates (MNIST samples, face mosaics), served at /outputs/<name>. */
export const OUTPUT_STORE = Symbol('OUTPUT_STORE');

export interface OpenedOutput {
  handle: FileHandle;
  size: number;
}

export interface SweepResult {
  removed: number;
  freedBytes: number;
  keptFiles: number;
  keptBytes: number;
}

export interface OutputStore {
  /** Stores `data` under a safe name, whole or not at all; returns the file's path. Throws on an unsafe name. */
  write(name: string, data: Buffer): Promise<string>;
  /** A plain file (no link) by safe name, or null; the caller closes the handle. */
  open(name: string): Promise<OpenedOutput | null>;
  /** Whether a file by that name was there and is now gone. */
  remove(name: string): Promise<boolean>;
  /** Applies the retention policy: files past their age, then the oldest beyond the size budget. */
  sweep(): Promise<SweepResult>;
}
