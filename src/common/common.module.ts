import { Global, Module } from '@nestjs/common';
import { ImageDecoder } from './image/image-decoder';
import { ImageEncoder } from './image/image-encoder';

/** Shared building blocks every capability may inject. */
@Global()
@Module({ providers: [ImageDecoder, ImageEncoder], exports: [ImageDecoder, ImageEncoder] })
export class CommonModule {}
