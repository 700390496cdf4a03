import {
  BadRequestException,
  Controller,
  Inject,
  PayloadTooLargeException,
  UseFilters,
} from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { MessageExceptionFilter } from '../../common/errors/rpc-exception.filter';
import { IMAGE_PAYLOAD_HELP } from '../../common/messages/image-payload';
import { AppConfig, appConfig } from '../../config/app.config';
import { formatBytes } from '../../common/http/format-bytes';
import { MnistInferenceService } from './mnist-inference.service';
import { MnistConfig, mnistConfig } from './mnist.config';
import { PredictionDto } from './dto/mnist.dto';
import { MnistPredictMessageDto } from './dto/mnist-message.dto';

/**
 * The message transport's `mnist.predict`: the image as base64 text or bytes in `image` → the result of
 * `POST /mnist/predict` with `file`; several in `images` (up to MNIST_MAX_FILES) → an array in the same order,
 * one batched inference, like `files`. Same size limit (UPLOAD_MAX_BYTES per image) and the same errors.
 */
@Controller()
@UseFilters(new MessageExceptionFilter())
export class MnistMessages {
  constructor(
    private readonly inference: MnistInferenceService,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    @Inject(mnistConfig.KEY) private readonly config: MnistConfig,
  ) {}

  @MessagePattern('mnist.predict')
  async predict(@Payload() body: MnistPredictMessageDto): Promise<PredictionDto | PredictionDto[]> {
    if ((body.image === undefined) === (body.images === undefined)) {
      throw new BadRequestException(
        `Send one image in "image" or several in "images" (not both), as ${IMAGE_PAYLOAD_HELP}.`,
      );
    }
    const list = body.images ?? [body.image as Buffer];
    if (list.length > this.config.MNIST_MAX_FILES)
      throw new BadRequestException(`Send at most ${this.config.MNIST_MAX_FILES} images per request.`);
    if (list.some((b) => b.length > this.app.UPLOAD_MAX_BYTES)) {
      throw new PayloadTooLargeException(
        `Each image must be at most ${formatBytes(this.app.UPLOAD_MAX_BYTES)}.`,
      );
    }
    const results = await this.inference.predict(list.map((data) => ({ data })));
    return body.images ? results : results[0];
  }
}
