import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { JobsModule } from '../jobs/jobs.module';
import { OutputsModule } from '../outputs/outputs.module';
import { UploadsModule } from '../uploads/uploads.module';
import { MULTIPART_LIMITS } from '../../common/http/multipart/multipart.interceptor';
import { imageMultipartLimits } from '../../common/http/multipart/multipart-limits';
import { AppConfig, appConfig } from '../../config/app.config';
import { DigitPreprocessor } from './digit-preprocessor';
import { MnistController } from './mnist.controller';
import { MnistDatasetService } from './mnist-dataset.service';
import { MnistGateway } from './mnist.gateway';
import { MnistJobHandler } from './mnist-job.handler';
import { MnistJobsController } from './mnist-jobs.controller';
import { MnistMessages } from './mnist.message.controller';
import { MnistInferenceService } from './mnist-inference.service';
import { MnistSamplesService } from './mnist-samples.service';
import { MnistConfig, mnistConfig } from './mnist.config';

/**
 * MNIST: the training set (samples as PNG files in OUTPUT_DIR, and images), digit recognition over HTTP and
 * socket.io.
 */
@Module({
  imports: [ConfigModule.forFeature(mnistConfig), OutputsModule, UploadsModule, JobsModule],
  controllers: [MnistController, MnistMessages, MnistJobsController],
  providers: [
    MnistDatasetService,
    MnistSamplesService,
    MnistInferenceService,
    DigitPreprocessor,
    MnistGateway,
    MnistJobHandler,
    {
      provide: MULTIPART_LIMITS,
      inject: [appConfig.KEY, mnistConfig.KEY],
      useFactory: (app: AppConfig, config: MnistConfig) => imageMultipartLimits(app, config.MNIST_MAX_FILES),
    },
  ],
  exports: [MnistDatasetService, MnistInferenceService, DigitPreprocessor],
})
export class MnistModule {}
