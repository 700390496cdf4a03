import {
  BadRequestException,
  Inject,
  PayloadTooLargeException,
  UseFilters,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { createValidationPipe } from '../../common/http/validation';
import { WsInflightInterceptor } from '../../common/ws/ws-inflight.interceptor';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { AppConfig, appConfig } from '../../config/app.config';
import { MnistInferenceService } from './mnist-inference.service';
import { PredictionDto } from './mnist.dto';

const HOW = 'Send the image as binary data (a Buffer, ArrayBuffer or Blob bytes) or as { image: <binary> }.';

/** The image bytes of a socket.io payload: binary, or `{ image: binary }`. */
export function imageBytes(payload: unknown): Buffer {
  const bytes = (v: unknown): Buffer | null => {
    if (Buffer.isBuffer(v)) return v;
    if (v instanceof ArrayBuffer) return Buffer.from(v);
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return null;
  };
  const direct = bytes(payload);
  if (direct) return direct;
  if (payload && typeof payload === 'object' && 'image' in payload) {
    const inner = bytes((payload as { image: unknown }).image);
    if (inner) return inner;
  }
  throw new BadRequestException(HOW);
}

/**
 * socket.io namespace `/vision`, event `mnist:predict`: the image as binary → the same result as
 * `POST /mnist/predict`, in the acknowledgement. Errors come as an `error` event and `{ error }` in the ack.
 * (The face mosaic has its own gateway class on the same namespace.)
 */
@WebSocketGateway({ namespace: '/vision' })
@UseFilters(new WsExceptionFilter())
@UseInterceptors(WsInflightInterceptor)
@UsePipes(createValidationPipe())
export class MnistGateway {
  constructor(
    private readonly inference: MnistInferenceService,
    @Inject(appConfig.KEY) private readonly config: AppConfig,
  ) {}

  @SubscribeMessage('mnist:predict')
  async predict(@MessageBody() payload: unknown): Promise<PredictionDto> {
    const image = imageBytes(payload);
    if (image.length > this.config.UPLOAD_MAX_BYTES) {
      const mb = (this.config.UPLOAD_MAX_BYTES / 1024 / 1024).toFixed(1);
      throw new PayloadTooLargeException(`The image must be at most ${mb} MB.`);
    }
    const [result] = await this.inference.predict([{ data: image }]);
    return result;
  }
}
