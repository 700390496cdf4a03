import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { OutputsModule } from '../outputs/outputs.module';
import { MulterModule } from '@nestjs/platform-express';
import { multipartOptions } from '../../common/http/multipart';
import { AppConfig, appConfig } from '../../config/app.config';
import { DigitPreprocessor } from './digit-preprocessor';
import { MnistController, UploadLimitsInterceptor } from './mnist.controller';
import { MnistDatasetService } from './mnist-dataset.service';
import { MnistGateway } from './mnist.gateway';
import { MnistMessages } from './mnist.messages';
import { MnistInferenceService } from './mnist-inference.service';
import { MnistSamplesService } from './mnist-samples.service';
import { MnistConfig, mnistConfig } from './mnist.config';

/**
 * MNIST: the training set (samples as PNG files in OUTPUT_DIR, and images), digit recognition over HTTP and
 * socket.io.
 */
@Module({
  imports: [
    ConfigModule.forFeature(mnistConfig),
    OutputsModule,
    MulterModule.registerAsync({
      imports: [ConfigModule.forFeature(mnistConfig)],
      inject: [appConfig.KEY, mnistConfig.KEY],
      useFactory: (app: AppConfig, config: MnistConfig) => multipartOptions(app, config.MNIST_MAX_FILES),
    }),
  ],
  controllers: [MnistController, MnistMessages],
  providers: [
    MnistDatasetService,
    MnistSamplesService,
    MnistInferenceService,
    DigitPreprocessor,
    MnistGateway,
    UploadLimitsInterceptor,
  ],
  exports: [MnistDatasetService, MnistInferenceService, DigitPreprocessor],
})
export class MnistModule {}
