import { Global, Module } from '@nestjs/common';
import { ImageDecoder } from './image/image-decoder';

/** Shared building blocks every capability may inject. */
@Global()
@Module({ providers: [ImageDecoder], exports: [ImageDecoder] })
export class CommonModule {}
