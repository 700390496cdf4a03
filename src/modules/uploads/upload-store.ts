import { ImageFormat } from '../../common/image/image-format';

/** What the service knows about one stored upload (kept in a JSON sidecar next to the file). */
export interface UploadRecord {
  /** Server-generated id (a UUID); the only name the file has on disk. */
  id: string;
  /** The client's file name, made safe; metadata only, never used as a path. */
  originalName: string;
  size: number;
  /** From the magic bytes, never from the client. */
  format: ImageFormat;
  contentType: string;
  /** Upright size (EXIF orientation applied). */
  width: number;
  height: number;
  sha256: string;
  /** ISO 8601. */
  createdAt: string;
}

/** The facts the store needs besides the bytes; it adds id, size, sha256 and createdAt. */
export type NewUpload = Omit<UploadRecord, 'id' | 'size' | 'sha256' | 'createdAt'>;

export interface SaveResult {
  record: UploadRecord;
  /** True when the same bytes (same sha256) were already stored by another upload (informational: the new upload is its own). */
  duplicate: boolean;
}

export interface SaveOptions {
  /** The bytes' sha256 (hex) when the caller already has it (hashed while they arrived). */
  sha256?: string;
  /**
   * A check of the bytes that may still be running (ImageDecoder.verify: a structure walk, or a small decode
   * for TIFF): the store writes meanwhile, and the upload becomes visible only if it resolves; if it rejects,
   * nothing is kept and save() rejects with its error.
   */
  valid?: Promise<unknown>;
}

export interface UploadPage {
  items: UploadRecord[];
  total: number;
}

/**
 * Where uploaded images live. The service only talks to this interface; the file-system implementation
 * (FsUploadStore) can be replaced by an object store without touching callers.
 */
export abstract class UploadStore {
  /** Prepares the store (creates the folder, removes leftovers of interrupted writes, reads the index). */
  abstract init(): Promise<void>;
  /** Stores the bytes atomically under a new id (saying whether identical bytes were already stored). */
  abstract save(data: Buffer, upload: NewUpload, options?: SaveOptions): Promise<SaveResult>;
  /** Newest first. */
  abstract list(offset: number, limit: number): Promise<UploadPage>;
  abstract count(): Promise<number>;
  /** Every record, newest first. */
  abstract all(): Promise<UploadRecord[]>;
  abstract get(id: string): Promise<UploadRecord | null>;
  /** The file on disk, for streaming; null when the upload is unknown. */
  abstract filePath(id: string): Promise<string | null>;
  abstract read(id: string): Promise<Buffer | null>;
  /** False when there was no such upload. */
  abstract delete(id: string): Promise<boolean>;
  /** Releases what the store holds (at shutdown); nothing stored is lost. */
  abstract close(): Promise<void>;
}
