import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * File names in OUTPUT_DIR: what clients may ask for, and how names they send are made safe. A safe name
 * is one path segment of ASCII letters, digits, `.`, `_` and `-`, starting with a letter, digit or `_`,
 * without `..`, so it can neither leave the folder nor be a hidden or option-like file.
 */
export const SAFE_FILE_NAME = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

export const DEFAULT_SAMPLE_NAME = 'mnist_sample.png';
const MAX_BASE = 100;

export function isSafeFileName(name: string): boolean {
  return SAFE_FILE_NAME.test(name);
}

/** Python's os.path.splitext: the extension starts at the last dot, unless that dot only leads the name. */
export function splitExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || /^\.+$/.test(name.slice(0, dot + 1))) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/**
 * The name the original FastAPI service gave a sample, `f"{base}_label{label}{'_noise' if noise}{ext}"`,
 * from a client's `filename` made safe: only its last path segment, no control characters, unsafe
 * characters replaced by `_`, no leading dots, at most 100 characters, and always `.png` (the file is a
 * PNG; another or a missing extension is replaced).
 */
export function sampleFileName(filename: string, label: number, noise: boolean): string {
  // eslint-disable-next-line no-control-regex
  const clean = filename.replace(/[\u0000-\u001f\u007f]/g, '');
  const segment = clean.split(/[/\\]/).pop() ?? '';
  const [rawBase] = splitExt(segment);
  let base = rawBase
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+/, '')
    .slice(0, MAX_BASE);
  if (base.length === 0) base = splitExt(DEFAULT_SAMPLE_NAME)[0];
  return `${base}_label${label}${noise ? '_noise' : ''}.png`;
}

/** The absolute path of a safe name inside `dir`, or null when the name is not safe. */
export function resolveOutput(dir: string, name: string): string | null {
  if (!isSafeFileName(name)) return null;
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  return path.dirname(file) === root ? file : null;
}

/** Writes a file into `dir` atomically (temporary file, then rename), creating the folder if needed. */
export async function writeOutput(dir: string, name: string, data: Buffer): Promise<string> {
  const file = resolveOutput(dir, name);
  if (!file) throw new Error(`unsafe output file name ${JSON.stringify(name)}`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, data, { mode: 0o644 });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return file;
}

/** The path as the original service reported it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
}
