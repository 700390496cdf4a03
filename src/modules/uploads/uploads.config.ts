import { ConfigType } from '@nestjs/config';
import { IsInt, Max, Min } from 'class-validator';
import { defineConfig, Expose } from '../../config/env';

/**
 * Variables of the uploads module. Where uploads go (UPLOAD_DIR) and how large they may be
 * (UPLOAD_MAX_BYTES, IMAGE_MAX_PIXELS) are shared and come from appConfig.
 */
export class UploadsEnv {
  /** Items per page of `GET /uploads` when the client does not say (`?limit=`, at most 100). */
  @Expose() @IsInt() @Min(1) @Max(100) UPLOADS_PAGE_SIZE: number = 20;
}

export const uploadsConfig = defineConfig('uploads', UploadsEnv);
export type UploadsConfig = ConfigType<typeof uploadsConfig>;
