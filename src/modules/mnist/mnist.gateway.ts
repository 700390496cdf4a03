import { Inject, UseFilters, UseInterceptors, UsePipes } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { createValidationPipe } from '../../common/http/validation';
import { socketImage } from '../../common/ws/socket-image';
import { WsInflightInterceptor } from '../../common/ws/ws-inflight.interceptor';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { AppConfig, appConfig } from '../../config/app.config';
import { MnistInferenceService } from './mnist-inference.service';
import { PredictionDto } from './dto/mnist.dto';

const HOW = 'Send the image as binary data (a Buffer, ArrayBuffer or Blob bytes) or as { image: <binary> }.';

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

  /** The first name of `mnist.predict`, kept for existing clients. */
  @SubscribeMessage('mnist:predict')
  predictAlias(@MessageBody() payload: unknown): Promise<PredictionDto> {
    return this.predict(payload);
  }

  @SubscribeMessage('mnist.predict')
  async predict(@MessageBody() payload: unknown): Promise<PredictionDto> {
    const image = socketImage(payload, this.config.UPLOAD_MAX_BYTES, HOW);
    const [result] = await this.inference.predict([{ data: image }]);
    return result;
  }
}
