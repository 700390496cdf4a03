/** Image formats the service accepts, recognised by their magic bytes (never by name or Content-Type). */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'tiff';

export const IMAGE_MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

export const ACCEPTED_IMAGES = 'PNG, JPEG, WebP, GIF, BMP or TIFF';

export function sniffImageFormat(buf: Uint8Array): ImageFormat | null {
  const b = (i: number) => buf[i];
  const ascii = (start: number, s: string) =>
    buf.length >= start + s.length && [...s].every((c, i) => buf[start + i] === c.charCodeAt(0));
  if (buf.length >= 8 && b(0) === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (buf.length >= 3 && b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'BM') && buf.length >= 26) return 'bmp';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'tiff';
  return null;
}
