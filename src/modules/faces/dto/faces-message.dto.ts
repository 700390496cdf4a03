import { ImagePayload } from '../../../common/messages/image-payload';
import { DetectQueryDto } from './faces.dto';

/** Payload of `faces.detect`: the image plus the detector parameters of `POST /faces/detect`'s query. */
export class FacesDetectMessageDto extends DetectQueryDto {
  @ImagePayload()
  image: Buffer;
}
