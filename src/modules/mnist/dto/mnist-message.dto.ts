import { ArrayNotEmpty, IsArray, IsOptional } from 'class-validator';
import { ImagePayload } from '../../../common/messages/image-payload';

/** Payload of `mnist.predict`: `image` (one → one result) or `images` (a batch → an array), like `file`/`files`. */
export class MnistPredictMessageDto {
  @ImagePayload()
  @IsOptional()
  image?: Buffer;

  @ImagePayload({ each: true })
  @ArrayNotEmpty()
  @IsArray()
  @IsOptional()
  images?: Buffer[];
}
