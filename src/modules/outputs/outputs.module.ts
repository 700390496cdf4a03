import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { FsOutputStore } from './fs-output-store';
import { OUTPUT_STORE } from './output-store';
import { outputsConfig } from './outputs.config';
import { OutputsController } from './outputs.controller';

/** OUTPUT_DIR's owner: the generated images, written by the features through OUTPUT_STORE, with retention. */
@Module({
  imports: [ConfigModule.forFeature(outputsConfig)],
  controllers: [OutputsController],
  providers: [{ provide: OUTPUT_STORE, useClass: FsOutputStore }],
  exports: [OUTPUT_STORE],
})
export class OutputsModule {}
