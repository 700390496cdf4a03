import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MulterModule } from '@nestjs/platform-express';
import * as path from 'node:path';
import { multipartOptions } from '../../common/http/multipart';
import { AppConfig, appConfig } from '../../config/app.config';
import { FsUploadStore } from './fs-upload-store';
import { MultipartErrorsInterceptor } from './multipart-errors.interceptor';
import { UploadStore } from './upload-store';
import { UploadsController } from './uploads.controller';
import { uploadsConfig } from './uploads.config';
import { UploadsService } from './uploads.service';

/** Multipart options of this module's routes: bounded, in memory, UTF-8 file names (Korean names intact). */
export function imageMultipartOptions(config: AppConfig) {
  return { ...multipartOptions(config), defParamCharset: 'utf8' };
}

@Module({
  imports: [
    ConfigModule.forFeature(uploadsConfig),
    MulterModule.registerAsync({ inject: [appConfig.KEY], useFactory: imageMultipartOptions }),
  ],
  controllers: [UploadsController],
  providers: [
    {
      provide: UploadStore,
      inject: [appConfig.KEY],
      useFactory: (config: AppConfig) => new FsUploadStore(path.resolve(config.UPLOAD_DIR)),
    },
    UploadsService,
    MultipartErrorsInterceptor,
  ],
  exports: [UploadsService, MultipartErrorsInterceptor],
})
export class UploadsModule {}
