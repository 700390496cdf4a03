import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { formatBytes } from '../http/format-bytes';

/** Binary as socket.io delivers it: a Buffer, an ArrayBuffer, or a typed array view. */
export function binary(v: unknown): Buffer | null {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

/**
 * The image of a socket.io payload: the payload itself when it is binary, else its `image` field. Refuses
 * (400 with `how`, 413 over `maxBytes`) what carries no image or too large a one. The other fields of an
 * object payload are the caller's to validate.
 */
export function socketImage(payload: unknown, maxBytes: number, how: string): Buffer {
  const image =
    binary(payload) ??
    (payload && typeof payload === 'object' && 'image' in payload
      ? binary((payload as { image: unknown }).image)
      : null);
  if (!image) throw new BadRequestException(how);
  if (image.length > maxBytes)
    throw new PayloadTooLargeException(
      `The image is larger than the upload limit of ${formatBytes(maxBytes)}.`,
    );
  return image;
}
