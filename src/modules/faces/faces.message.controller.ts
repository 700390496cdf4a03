import { Controller, Inject, PayloadTooLargeException, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { MessageExceptionFilter } from '../../common/errors/rpc-exception.filter';
import { AppConfig, appConfig } from '../../config/app.config';
import { formatBytes } from '../../common/http/format-bytes';
import { DetectResponseDto } from './dto/faces.dto';
import { FacesDetectMessageDto } from './dto/faces-message.dto';
import { FacesService } from './faces.service';

/**
 * The message transport's `faces.detect`: `{ image, scaleFactor?, minNeighbors?, minSize? }` (image as
 * base64 text or bytes) → the JSON of `POST /faces/detect`, with the same limits and errors (413, 415, 422,
 * 429 when the detector's queue is full, 503 without the cascade).
 */
@Controller()
@UseFilters(new MessageExceptionFilter())
export class FacesMessages {
  constructor(
    private readonly faces: FacesService,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {}

  @MessagePattern('faces.detect')
  detect(@Payload() body: FacesDetectMessageDto): Promise<DetectResponseDto> {
    if (body.image.length > this.app.UPLOAD_MAX_BYTES) {
      throw new PayloadTooLargeException(
        `The image is larger than the upload limit of ${formatBytes(this.app.UPLOAD_MAX_BYTES)}.`,
      );
    }
    return this.faces.detect(body.image, body);
  }
}
