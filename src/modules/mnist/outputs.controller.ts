import {
  BadRequestException,
  Controller,
  Get,
  Header,
  Inject,
  NotFoundException,
  Param,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { constants, promises as fs } from 'node:fs';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { IMAGE_MIME, sniffImageFormat } from '../../common/image/image-format';
import { AppConfig, appConfig } from '../../config/app.config';
import { resolveOutput } from './output-files';

/**
 * OUTPUT_DIR, read-only, over HTTP: the images the service generated (MNIST samples, face mosaics) at
 * `/outputs/<file>`. Only plain files with a safe one-segment name are served (no paths, no `..`, no
 * hidden files, no symbolic links), with the content type of what the file really is and `nosniff`.
 */
@ApiTags('outputs')
@Controller('outputs')
export class OutputsController {
  constructor(@Inject(appConfig.KEY) private readonly config: AppConfig) {}

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
    const file = resolveOutput(this.config.OUTPUT_DIR, name);
    if (!file) {
      throw new BadRequestException(
        'The file name must be one plain name of letters, digits, ".", "_" and "-" (no folders).',
      );
    }
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      throw new NotFoundException(`There is no image named ${name} in the outputs.`);
    }
    try {
      const stat = await handle.stat();
      const head = Buffer.alloc(32);
      const { bytesRead } = stat.isFile() ? await handle.read(head, 0, head.length, 0) : { bytesRead: 0 };
      const format = sniffImageFormat(head.subarray(0, bytesRead));
      if (!stat.isFile() || !format)
        throw new NotFoundException(`There is no image named ${name} in the outputs.`);
      const stream = handle.createReadStream({ start: 0, autoClose: true });
      return new StreamableFile(stream, {
        type: IMAGE_MIME[format],
        length: stat.size,
        disposition: `inline; filename="${name}"`,
      });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}
