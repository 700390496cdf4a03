import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInstance } from 'class-validator';

export const IMAGE_PAYLOAD_HELP =
  'base64 text (a data: URL is accepted) or an array of bytes (0-255), e.g. a serialised Buffer';

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Image bytes as a JSON message can carry them: base64 text (standard or URL-safe, optionally a data: URL),
 * an array of byte values, or a Buffer as JSON.stringify writes it (`{ type: 'Buffer', data: [...] }`).
 * Anything else, or an empty image: undefined.
 */
export function imageFromPayload(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value.length > 0 ? value : undefined;
  if (typeof value === 'string') {
    const text = value.replace(/^data:[\w.+/-]*;base64,/i, '').replace(/\s+/g, '');
    if (text.length === 0 || text.length % 4 === 1 || !BASE64.test(text)) return undefined;
    const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    return bytes.length > 0 ? bytes : undefined;
  }
  const array =
    value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer'
      ? (value as { data?: unknown }).data
      : value;
  if (!Array.isArray(array) || array.length === 0) return undefined;
  for (const b of array)
    if (!Number.isInteger(b) || (b as number) < 0 || (b as number) > 255) return undefined;
  return Buffer.from(array as number[]);
}

/**
 * A DTO property holding an image in a message: converted to a Buffer by the validation pipe (transform),
 * refused with a one-sentence 400 otherwise. `each` for an array of images.
 */
export function ImagePayload(options: { each?: boolean } = {}): PropertyDecorator {
  const property = options.each ? 'each image' : 'image';
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => {
      if (options.each && Array.isArray(value)) return value.map((v) => imageFromPayload(v) ?? v);
      return imageFromPayload(value) ?? value;
    }),
    IsInstance(Buffer, { each: options.each, message: `${property} must be ${IMAGE_PAYLOAD_HELP}` }),
  );
}
