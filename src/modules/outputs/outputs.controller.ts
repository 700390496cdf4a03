import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/access';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { IMAGE_MIME, sniffImageFormat } from '../../common/image/image-format';
import { isSafeFileName } from './output-names';
import { OUTPUT_STORE, OutputStore } from './output-store';

const UNSAFE_NAME = 'The file name must be one plain name of letters, digits, ".", "_" and "-" (no folders).';

/**
 * OUTPUT_DIR over HTTP: the images the service generated (MNIST samples, face mosaics) at `/outputs/<file>`.
 * Only plain files with a safe one-segment name are served (no paths, no `..`, no hidden files, no symbolic
 * links), with the content type of what the file really is and `nosniff`. Deleting one is an admin route.
 */
@ApiTags('outputs')
@Controller('outputs')
export class OutputsController {
  constructor(@Inject(OUTPUT_STORE) private readonly outputs: OutputStore) {}

  @Get(':file')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Content-Security-Policy', "default-src 'none'; sandbox")
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({
    summary:
      'A generated image from OUTPUT_DIR (MNIST samples, face mosaics), e.g. /outputs/mnist_sample_label1.png',
  })
  @ApiParam({ name: 'file', example: 'mnist_sample_label1.png', description: 'A file name in OUTPUT_DIR' })
  @ApiProduces('image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff')
  @ApiOkResponse({ description: 'The image', schema: { type: 'string', format: 'binary' } })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Not a plain file name' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such image' })
  async get(@Param('file') name: string): Promise<StreamableFile> {
    if (!isSafeFileName(name)) throw new BadRequestException(UNSAFE_NAME);
    const opened = await this.outputs.open(name);
    if (!opened) throw new NotFoundException(`There is no image named ${name} in the outputs.`);
    const { handle, size } = opened;
    try {
      const head = Buffer.alloc(32);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const format = sniffImageFormat(head.subarray(0, bytesRead));
      if (!format) throw new NotFoundException(`There is no image named ${name} in the outputs.`);
      const stream = handle.createReadStream({ start: 0, autoClose: true });
      return new StreamableFile(stream, {
        type: IMAGE_MIME[format],
        length: size,
        disposition: `inline; filename="${name}"`,
      });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  @Delete(':file')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Delete a generated image (older ones also go by themselves: OUTPUT_MAX_AGE_S, OUTPUT_MAX_BYTES)',
  })
  @ApiParam({ name: 'file', example: 'mnist_sample_label1.png' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Not a plain file name' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such file' })
  async remove(@Param('file') name: string): Promise<void> {
    if (!isSafeFileName(name)) throw new BadRequestException(UNSAFE_NAME);
    if (!(await this.outputs.remove(name)))
      throw new NotFoundException(`There is no file named ${name} in the outputs.`);
  }
}
