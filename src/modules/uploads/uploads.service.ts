import { Inject, Injectable, NotFoundException, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ImageDecoder } from '../../common/image/image-decoder';
import { IMAGE_MIME } from '../../common/image/image-format';
import { contentDisposition } from '../../common/http/content-disposition';
import { downloadName, sanitizeFileName } from './file-names';
import { UploadRecord, UploadStore } from './upload-store';
import { UploadListDto, UploadMetaDto, UploadResponseDto } from './dto/uploads.dto';
import { UploadsConfig, uploadsConfig } from './uploads.config';

export interface UploadedImage {
  buffer: Buffer;
  originalname?: string;
  /** Hashed while it arrived (the multipart reader's `hash` option). */
  sha256?: string;
}

export interface UploadFile {
  record: UploadRecord;
  path: string;
  headers: Record<string, string>;
}

/**
 * Accepts images into the UploadStore: only real images (magic bytes, header within the pixel cap, a whole
 * file by its structure), each stored as its own upload under a server-generated id.
 */
@Injectable()
export class UploadsService implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly store: UploadStore,
    private readonly decoder: ImageDecoder,
    @Inject(uploadsConfig.KEY) private readonly config: UploadsConfig,
  ) {}

  onModuleInit(): Promise<void> {
    return this.store.init();
  }

  onModuleDestroy(): Promise<void> {
    return this.store.close();
  }

  async upload(file: UploadedImage): Promise<UploadResponseDto> {
    // The header: magic bytes, format and the pixel cap, before anything is decoded.
    const info = await this.decoder.header(file.buffer);
    // The whole file's structure (a small decode for TIFF), while the store writes: a truncated or corrupt
    // image is refused now, and the store keeps nothing of it.
    const valid = this.decoder.verify(file.buffer, info.format);
    const { record, duplicate } = await this.store.save(
      file.buffer,
      {
        originalName: sanitizeFileName(file.originalname, info.format),
        format: info.format,
        contentType: IMAGE_MIME[info.format],
        width: info.width,
        height: info.height,
      },
      { sha256: file.sha256, valid },
    );
    return {
      ...toMeta(record),
      message: duplicate
        ? 'Image uploaded (the same image is also stored as another upload).'
        : 'Image uploaded.',
      duplicate,
    };
  }

  async list(page = 1, limit = this.config.UPLOADS_PAGE_SIZE): Promise<UploadListDto> {
    const { items, total } = await this.store.list((page - 1) * limit, limit);
    return { items: items.map(toMeta), page, limit, total, pages: Math.ceil(total / limit) };
  }

  async meta(id: string): Promise<UploadMetaDto> {
    return toMeta(await this.record(id));
  }

  /** The file of an upload with the headers to serve it safely. */
  async file(id: string): Promise<UploadFile> {
    const record = await this.record(id);
    const path = await this.store.filePath(id);
    if (!path) throw notFound();
    return {
      record,
      path,
      headers: {
        'Content-Type': record.contentType,
        'Content-Length': String(record.size),
        'Content-Disposition': contentDisposition(downloadName(record.originalName, record.format)),
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
        'Cache-Control': 'private, no-cache',
      },
    };
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw notFound();
  }

  /** Every upload, newest first (for batch processing). */
  all(): Promise<UploadRecord[]> {
    return this.store.all();
  }

  count(): Promise<number> {
    return this.store.count();
  }

  /** The bytes of an upload, or null when it disappeared meanwhile. */
  read(id: string): Promise<Buffer | null> {
    return this.store.read(id);
  }

  private async record(id: string): Promise<UploadRecord> {
    const record = await this.store.get(id);
    if (!record) throw notFound();
    return record;
  }
}

function notFound(): NotFoundException {
  return new NotFoundException('There is no upload with this id.');
}

export function toMeta(r: UploadRecord): UploadMetaDto {
  return {
    id: r.id,
    filename: r.originalName,
    size: r.size,
    contentType: r.contentType,
    width: r.width,
    height: r.height,
    sha256: r.sha256,
    createdAt: r.createdAt,
    path: `/uploads/${r.id}`,
  };
}
