import {
  applyDecorators,
  Controller,
  Get,
  HttpCode,
  Post,
  Query,
  Res,
  StreamableFile,
  UploadedFile,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { contentDisposition } from '../../common/http/content-disposition';
import { Multipart, ReceivedFile } from '../../common/http/multipart/multipart.interceptor';
import { RequiredFile } from '../../common/http/multipart/required-file.pipe';
import { IMAGE_FIELD, IMAGE_UPLOAD_BODY, NO_IMAGE_FILE } from '../uploads/dto/uploads.dto';
import {
  DetectQueryDto,
  DetectResponseDto,
  MosaicBatchResponseDto,
  MosaicJsonResponseDto,
  MosaicParamsDto,
  MosaicQueryDto,
} from './dto/faces.dto';
import { FacesCapacityGuard } from './faces-capacity.guard';
import { FacesService } from './faces.service';
import { MosaicBatchService } from './mosaic-batch.service';

const BUSY = { type: ErrorResponseDto, description: 'FACES_WORKERS busy and FACES_MAX_QUEUE images waiting' };
const NO_CASCADE = {
  type: ErrorResponseDto,
  description: 'The Haar cascade is not installed (the message says how to install it) or still loading',
};
const BAD_IMAGE = { type: ErrorResponseDto, description: 'Not a supported image' };
const CORRUPT = { type: ErrorResponseDto, description: 'A truncated or corrupt image' };
const TOO_LARGE = {
  type: ErrorResponseDto,
  description:
    'Over UPLOAD_MAX_BYTES, or more pixels than IMAGE_MAX_PIXELS (from the header, before decoding)',
};
const IMAGE_SCHEMA = { schema: { type: 'string', format: 'binary' } };
/** Boxes sent in the X-Face-Boxes header (HTTP clients refuse headers beyond 8–16 KB). */
export const MAX_HEADER_BOXES = 100;

/** The answers of a faces image route besides 200, for OpenAPI. */
function FaceImageErrors(): MethodDecorator {
  return applyDecorators(
    ApiBadRequestResponse({ type: ErrorResponseDto, description: 'No file, or invalid parameters' }),
    ApiPayloadTooLargeResponse(TOO_LARGE),
    ApiUnsupportedMediaTypeResponse(BAD_IMAGE),
    ApiUnprocessableEntityResponse(CORRUPT),
    ApiTooManyRequestsResponse(BUSY),
    ApiServiceUnavailableResponse(NO_CASCADE),
  );
}

@ApiTags('faces')
@ApiExtraModels(MosaicJsonResponseDto)
@Controller()
export class FacesController {
  constructor(
    private readonly faces: FacesService,
    private readonly batch: MosaicBatchService,
  ) {}

  @Post('faces/detect')
  @HttpCode(200)
  @UseGuards(FacesCapacityGuard)
  @UseInterceptors(Multipart(IMAGE_FIELD))
  @ApiOperation({
    summary: 'Find faces (OpenCV Haar cascade haarcascade_frontalface_alt)',
    description:
      'Multipart form with the image in `file`. Boxes are in pixels of the upright image (EXIF orientation ' +
      'applied). Large images are searched on a copy downscaled to FACES_DETECT_MAX_SIDE.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody(IMAGE_UPLOAD_BODY)
  @ApiOkResponse({ type: DetectResponseDto })
  @FaceImageErrors()
  detect(
    @UploadedFile(new RequiredFile(NO_IMAGE_FILE)) file: ReceivedFile,
    @Query() q: DetectQueryDto,
  ): Promise<DetectResponseDto> {
    return this.faces.detect(file.buffer, q);
  }

  @Post('mosaic')
  @HttpCode(200)
  @UseGuards(FacesCapacityGuard)
  @UseInterceptors(Multipart(IMAGE_FIELD))
  @ApiOperation({
    summary: 'Pixelate every face of an image',
    description:
      'As the original service: each face box is resized to `blocks`×`blocks` (bilinear) and back ' +
      '(nearest neighbour) in place; `method=blur` blurs it instead. Answers the image (the input format, or ' +
      '`format`) with `X-Face-Count` and `X-Face-Boxes` (JSON) headers, or with `response=json` the boxes and ' +
      'a link to the image stored in OUTPUT_DIR. Pixels outside the faces and the alpha channel are kept.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody(IMAGE_UPLOAD_BODY)
  @ApiOkResponse({
    description: 'The processed image, or JSON with `response=json`',
    headers: {
      'X-Face-Count': { description: 'Faces found', schema: { type: 'integer', example: 2 } },
      'X-Face-Boxes': {
        description: `The boxes as JSON (the first ${MAX_HEADER_BOXES}; \`response=json\` has them all)`,
        schema: { type: 'string', example: '[{"x":236,"y":31,"w":169,"h":169}]' },
      },
    },
    content: {
      'image/png': IMAGE_SCHEMA,
      'image/jpeg': IMAGE_SCHEMA,
      'image/webp': IMAGE_SCHEMA,
      'application/json': {
        schema: { $ref: getSchemaPath(MosaicJsonResponseDto) },
        example: {
          faces: [{ x: 236, y: 31, w: 169, h: 169 }],
          imageUrl: '/outputs/mosaic-3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f.jpg',
          width: 1126,
          height: 661,
          latencyMs: 240,
        },
      },
    },
  })
  @FaceImageErrors()
  async mosaic(
    @UploadedFile(new RequiredFile(NO_IMAGE_FILE)) file: ReceivedFile,
    @Query() q: MosaicQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile | MosaicJsonResponseDto> {
    if (q.response === 'json') return this.faces.mosaicToOutput(file.buffer, q, q.format);
    const result = await this.faces.mosaic(file.buffer, q, q.format);
    const ext = result.format === 'jpeg' ? 'jpg' : result.format;
    res.set({
      'X-Face-Count': String(result.faces.length),
      'X-Face-Boxes': JSON.stringify(result.faces.slice(0, MAX_HEADER_BOXES)),
      'Access-Control-Expose-Headers': 'X-Face-Count, X-Face-Boxes',
      'X-Content-Type-Options': 'nosniff',
    });
    return new StreamableFile(result.data, {
      type: result.contentType,
      length: result.data.length,
      disposition: contentDisposition(`mosaic.${ext}`),
    });
  }

  @Get('mosaic')
  @ApiOperation({
    summary: 'Pixelate the faces of every uploaded image (the original route)',
    description:
      'Writes `<upload id>-face.png` into OUTPUT_DIR (served at /outputs/<name>) for each upload with a ' +
      'face; uploads without a face are listed in `failed_files`, as before. At most MOSAIC_SYNC_MAX_FILES ' +
      'uploads per request (else 422): for more, `POST /jobs/mosaic` runs the same work as a background job, ' +
      'followed with `GET /jobs/{id}` or the socket.io namespace `/jobs`.',
  })
  @ApiOkResponse({ type: MosaicBatchResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid parameters' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'More uploads than MOSAIC_SYNC_MAX_FILES: use `POST /jobs/mosaic`',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'A batch is already running' })
  @ApiServiceUnavailableResponse(NO_CASCADE)
  mosaicAll(@Query() q: MosaicParamsDto): Promise<MosaicBatchResponseDto> {
    return this.batch.mosaicAll(q);
  }
}
