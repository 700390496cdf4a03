import type { MulterOptions } from '@nestjs/platform-express/multer/interfaces/multer-options.interface';
import { memoryStorage } from 'multer';
import { AppConfig } from '../../config/app.config';

/**
 * Multipart limits for image routes: files are held in memory (bounded by UPLOAD_MAX_BYTES) and only
 * written to disk, atomically, once validated, so a rejected or aborted upload leaves nothing behind.
 */
export function multipartOptions(config: AppConfig, maxFiles = 1): MulterOptions {
  return {
    storage: memoryStorage(),
    limits: {
      fileSize: config.UPLOAD_MAX_BYTES,
      files: maxFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: maxFiles + 20,
    },
  };
}
