import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import type { ReceivedFile } from './read-multipart';

/**
 * `@UploadedFile(new RequiredFile(message))`: the route's file, or 400 with `message` when the request carried
 * none, so the services behind it always get bytes. (Whether the bytes are an image is ImageDecoder's call.)
 */
@Injectable()
export class RequiredFile implements PipeTransform<ReceivedFile | undefined, ReceivedFile> {
  constructor(private readonly message: string) {}

  transform(file: ReceivedFile | undefined): ReceivedFile {
    if (!file?.buffer) throw new BadRequestException(this.message);
    return file;
  }
}
