import { ImageFormat } from '../../common/image/image-format';

/** The extension a stored file gets, from its real format (never from the client's name). */
export const FORMAT_EXTENSION: Record<ImageFormat, string> = {
  png: 'png',
  jpeg: 'jpg',
  webp: 'webp',
  gif: 'gif',
  bmp: 'bmp',
  tiff: 'tif',
};

const KNOWN_EXTENSIONS: Record<ImageFormat, string[]> = {
  png: ['png'],
  jpeg: ['jpg', 'jpeg', 'jpe', 'jfif'],
  webp: ['webp'],
  gif: ['gif'],
  bmp: ['bmp', 'dib'],
  tiff: ['tif', 'tiff'],
};

/** Longest kept name, in characters (code points). */
export const MAX_NAME_LENGTH = 200;

/* eslint-disable no-control-regex */
// C0/C1 controls (NUL included), and bidirectional overrides that make a name read differently.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */
// Characters that are path separators or special somewhere (Windows, shells, HTTP quoted strings).
const UNSAFE = /["*:<>?|]/g;

/**
 * The client's file name made safe to keep as metadata and to show in Content-Disposition: the last path
 * segment only (`/` and `\`), no control or bidi characters, no leading dots (`..`, hidden files),
 * unsafe characters replaced by `_`, at most MAX_NAME_LENGTH characters (extension kept), Unicode
 * normalised (NFC) so Korean names stay readable. Empty results become `upload.<ext>`.
 */
export function sanitizeFileName(raw: string | undefined | null, format: ImageFormat): string {
  let name = (raw ?? '').normalize('NFC').replace(INVISIBLE, '');
  name = name.split(/[/\\]/).pop() ?? '';
  name = name.replace(UNSAFE, '_').replace(/\s+/g, ' ').trim();
  name = name.replace(/^[.\s]+/, '');
  const chars = [...name];
  if (chars.length > MAX_NAME_LENGTH) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 ? [...name.slice(dot)] : [];
    const keepExt = ext.length > 0 && ext.length <= 16 ? ext : [];
    name = chars.slice(0, MAX_NAME_LENGTH - keepExt.length).join('') + keepExt.join('');
  }
  return name.length > 0 ? name : `upload.${FORMAT_EXTENSION[format]}`;
}

/** The name as offered for download: the safe name, with the extension of the real format when it lacks it. */
export function downloadName(name: string, format: ImageFormat): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return KNOWN_EXTENSIONS[format].includes(ext) ? name : `${name}.${FORMAT_EXTENSION[format]}`;
}

/** The name without its extension (`photo.jpg` → `photo`). */
export function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
