import { Inject, UseFilters, UseInterceptors, UsePipes } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { createValidationPipe } from '../../common/http/validation';
import { binary, socketImage } from '../../common/ws/socket-image';
import { WsInflightInterceptor } from '../../common/ws/ws-inflight.interceptor';
import { AppConfig, appConfig } from '../../config/app.config';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { FaceBox } from './face-detector';
import { MosaicMessageDto, OutputFormat } from './dto/faces.dto';
import { FacesService } from './faces.service';

const HOW = 'Send an image as binary data, or { image, blocks?, method?, format? }.';

export interface MosaicReply {
  image: Buffer;
  faces: FaceBox[];
  width: number;
  height: number;
  format: OutputFormat;
}

/**
 * socket.io `/vision` namespace (shared with the MNIST gateway): `mosaic` with a binary image, or
 * `{ image, blocks?, method?, format? }`, answers `{ image, faces, width, height, format }` through the
 * acknowledgement. Errors arrive as an `error` event (and `{ error }` in the acknowledgement).
 */
@WebSocketGateway({ namespace: '/vision' })
@UseFilters(new WsExceptionFilter())
@UseInterceptors(WsInflightInterceptor)
@UsePipes(createValidationPipe())
export class FacesGateway {
  private readonly pipe = createValidationPipe();

  constructor(
    private readonly faces: FacesService,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {}

  /** The first name of `faces.mosaic`, kept for existing clients. */
  @SubscribeMessage('mosaic')
  mosaicAlias(@MessageBody() body: unknown): Promise<MosaicReply> {
    return this.mosaic(body);
  }

  @SubscribeMessage('faces.mosaic')
  async mosaic(@MessageBody() body: unknown): Promise<MosaicReply> {
    const msg = await this.message(body);
    const result = await this.faces.mosaic(msg.image, msg, msg.format);
    return {
      image: result.data,
      faces: result.faces,
      width: result.width,
      height: result.height,
      format: result.format,
    };
  }

  /** A bare binary image, or `{ image, ... }` whose other fields are validated like any other payload. */
  private async message(body: unknown): Promise<MosaicMessageDto> {
    const image = socketImage(body, this.app.UPLOAD_MAX_BYTES, HOW);
    const fields = binary(body) ? {} : (body as object);
    return (await this.pipe.transform(
      { ...fields, image },
      { type: 'body', metatype: MosaicMessageDto },
    )) as MosaicMessageDto;
  }
}
