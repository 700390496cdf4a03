import * as path from 'node:path';

/**
 * File names in OUTPUT_DIR: what clients may ask for. A safe name is one path segment of ASCII letters,
 * digits, `.`, `_` and `-`, starting with a letter, digit or `_`, without `..`, so it can neither leave the
 * folder nor be a hidden or option-like file.
 */
export const SAFE_FILE_NAME = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

export function isSafeFileName(name: string): boolean {
  return SAFE_FILE_NAME.test(name);
}

/** The absolute path of a safe name inside `dir`, or null when the name is not safe. */
export function resolveOutput(dir: string, name: string): string | null {
  if (!isSafeFileName(name)) return null;
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  return path.dirname(file) === root ? file : null;
}

/** The path as the original service reported it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
}
