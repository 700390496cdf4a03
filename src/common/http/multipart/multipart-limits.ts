import { AppConfig } from '../../../config/app.config';
import { MultipartLimits } from './read-multipart';

/**
 * Limits for image routes: files are held in memory (each at most UPLOAD_MAX_BYTES, and the server-wide
 * UPLOADS_INFLIGHT_MAX_BYTES admission bounds them all) and only written to disk, atomically, once validated,
 * so a rejected or aborted upload leaves nothing behind.
 */
export function imageMultipartLimits(config: AppConfig, maxFiles = 1): MultipartLimits {
  return {
    fileSize: config.UPLOAD_MAX_BYTES,
    files: maxFiles,
    fields: 20,
    fieldSize: 64 * 1024,
    parts: maxFiles + 20,
  };
}
