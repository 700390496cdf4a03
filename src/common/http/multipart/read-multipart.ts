import { createHash } from 'node:crypto';
import busboy from 'busboy';
import type { Request } from 'express';

/** What a multipart body may hold. Sizes in bytes. */
export interface MultipartLimits {
  fileSize: number;
  files: number;
  fields: number;
  fieldSize: number;
  parts: number;
}

/** Why a multipart body was refused, for the route to put in words. */
export type MultipartProblem =
  | 'file_too_large'
  | 'too_many_files'
  | 'unexpected_field'
  | 'too_many_fields'
  | 'field_too_large'
  | 'malformed';

export class MultipartError extends Error {
  constructor(
    readonly problem: MultipartProblem,
    readonly field?: string,
    /** The parser's own words, for a malformed body. */
    readonly detail?: string,
  ) {
    super(`multipart: ${problem}${field === undefined ? '' : ` (${field})`}`);
  }
}

/** A received file, with multer's field names, so `@UploadedFile()` / `@UploadedFiles()` find it. */
export interface ReceivedFile {
  fieldname: string;
  /** The client's name for it: untrusted, for metadata only. */
  originalname: string;
  encoding: string;
  /** The client's Content-Type: untrusted; the bytes decide the type. */
  mimetype: string;
  buffer: Buffer;
  size: number;
  /** Hex digest of the bytes, hashed as they arrived; only when the route asked for it (`hash`). */
  sha256?: string;
}

export interface MultipartBody {
  files: ReceivedFile[];
  fields: Record<string, string>;
}

/**
 * Reads a multipart/form-data body into memory, within `limits`. Unlike multer, which on a limit reads the
 * rest of the body before it reports (so an endless body is never answered), this rejects the moment a
 * limit is crossed and stops parsing; the caller answers and closes the connection (see linger.ts).
 * `fileFields`: the only field names a file may come in (omit: any); `hash`: also hash each file (sha256)
 * chunk by chunk as it arrives, instead of in one go once it is all there.
 */
export function readMultipart(
  req: Request,
  limits: MultipartLimits,
  fileFields?: readonly string[],
  hash = false,
): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits, defParamCharset: 'utf8' });
    } catch {
      return reject(new MultipartError('malformed'));
    }
    const files: ReceivedFile[] = [];
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    let settled = false;
    let open = 0;
    let ended = false;
    const stop = (err: MultipartError) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      bb.removeAllListeners();
      bb.on('error', () => undefined);
      files.length = 0;
      reject(err);
    };
    const finish = () => {
      if (settled || !ended || open > 0) return;
      settled = true;
      resolve({ files, fields });
    };
    bb.on('file', (name, stream, info) => {
      // A part whose file name is empty (or only a path, like ".."): not a file, as multer has it.
      if (!info.filename) return void stream.resume();
      if (fileFields && !fileFields.includes(name)) {
        stream.resume();
        return stop(new MultipartError('unexpected_field', name));
      }
      open++;
      const chunks: Buffer[] = [];
      const digest = hash ? createHash('sha256') : undefined;
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
        digest?.update(chunk);
      });
      stream.on('limit', () => stop(new MultipartError('file_too_large', name)));
      stream.on('error', () => stop(new MultipartError('malformed')));
      stream.on('end', () => {
        open--;
        if (settled) return;
        files.push({
          fieldname: name,
          originalname: info.filename ?? '',
          encoding: info.encoding,
          mimetype: info.mimeType,
          buffer: Buffer.concat(chunks, size),
          size,
          ...(digest && { sha256: digest.digest('hex') }),
        });
        finish();
      });
    });
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) return stop(new MultipartError('field_too_large', name));
      fields[name] = value;
    });
    bb.on('filesLimit', () => stop(new MultipartError('too_many_files')));
    bb.on('fieldsLimit', () => stop(new MultipartError('too_many_fields')));
    bb.on('partsLimit', () => stop(new MultipartError('too_many_files')));
    bb.on('error', (err: Error) => stop(new MultipartError('malformed', undefined, err.message)));
    bb.on('close', () => {
      ended = true;
      finish();
    });
    // A client gone mid-body: nothing to answer, nothing kept.
    req.once('aborted', () => stop(new MultipartError('malformed')));
    req.pipe(bb);
  });
}
