import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MulterModule } from '@nestjs/platform-express';
import { appConfig } from '../../config/app.config';
import { OutputsModule } from '../outputs/outputs.module';
import { imageMultipartOptions, UploadsModule } from '../uploads/uploads.module';
import { FacesController } from './faces.controller';
import { facesConfig } from './faces.config';
import { FacesGateway } from './faces.gateway';
import { FacesMessages } from './faces.messages';
import { FacesService } from './faces.service';

/** Face detection and mosaic (OpenCV Haar cascade in worker threads): HTTP routes and socket.io /vision. */
@Module({
  imports: [
    ConfigModule.forFeature(facesConfig),
    MulterModule.registerAsync({ inject: [appConfig.KEY], useFactory: imageMultipartOptions }),
    UploadsModule,
    OutputsModule,
  ],
  controllers: [FacesController, FacesMessages],
  providers: [FacesService, FacesGateway],
  exports: [FacesService],
})
export class FacesModule {}
