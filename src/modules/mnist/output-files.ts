/** How the name a client sends for a sample becomes a safe OUTPUT_DIR name (see outputs/output-names.ts). */
export const DEFAULT_SAMPLE_NAME = 'mnist_sample.png';
const MAX_BASE = 100;

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
