import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MULTIPART_LIMITS } from '../../common/http/multipart/multipart.interceptor';
import { imageMultipartLimits } from '../../common/http/multipart/multipart-limits';
import { AppConfig, appConfig } from '../../config/app.config';
import { JobsModule } from '../jobs/jobs.module';
import { OutputsModule } from '../outputs/outputs.module';
import { UploadsModule } from '../uploads/uploads.module';
import { FacesController } from './faces.controller';
import { facesConfig } from './faces.config';
import { FacesGateway } from './faces.gateway';
import { FacesMessages } from './faces.message.controller';
import { FaceDetectorModel } from './face-detector.model';
import { FacesCapacityGuard } from './faces-capacity.guard';
import { FacesService } from './faces.service';
import { MosaicBatchService } from './mosaic-batch.service';
import { MosaicJobHandler } from './mosaic-job.handler';
import { MosaicJobsController } from './mosaic-jobs.controller';

/** Face detection and mosaic (OpenCV Haar cascade in worker threads): HTTP routes and socket.io /vision. */
@Module({
  imports: [ConfigModule.forFeature(facesConfig), UploadsModule, OutputsModule, JobsModule],
  controllers: [FacesController, FacesMessages, MosaicJobsController],
  providers: [
    FaceDetectorModel,
    FacesService,
    FacesCapacityGuard,
    MosaicBatchService,
    FacesGateway,
    MosaicJobHandler,
    {
      provide: MULTIPART_LIMITS,
      inject: [appConfig.KEY],
      useFactory: (c: AppConfig) => imageMultipartLimits(c),
    },
  ],
  exports: [FacesService],
})
export class FacesModule {}
