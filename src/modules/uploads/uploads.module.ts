import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import * as path from 'node:path';
import { MULTIPART_LIMITS } from '../../common/http/multipart/multipart.interceptor';
import { imageMultipartLimits } from '../../common/http/multipart/multipart-limits';
import { AppConfig, appConfig } from '../../config/app.config';
import { FsUploadStore } from './fs-upload-store';
import { UploadStore } from './upload-store';
import { UploadsController } from './uploads.controller';
import { uploadsConfig } from './uploads.config';
import { UploadsService } from './uploads.service';

@Module({
  imports: [ConfigModule.forFeature(uploadsConfig)],
  controllers: [UploadsController],
  providers: [
    {
      provide: UploadStore,
      inject: [appConfig.KEY],
      useFactory: (config: AppConfig) => new FsUploadStore(path.resolve(config.UPLOAD_DIR)),
    },
    UploadsService,
    {
      provide: MULTIPART_LIMITS,
      inject: [appConfig.KEY],
      useFactory: (c: AppConfig) => imageMultipartLimits(c),
    },
  ],
  exports: [UploadsService],
})
export class UploadsModule {}
