import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  StreamableFile,
  UploadedFiles,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { formatBytes } from '../../common/http/format-bytes';
import { Multipart, ReceivedFile } from '../../common/http/multipart/multipart.interceptor';
import type { MultipartLimits } from '../../common/http/multipart/read-multipart';
import { ACCEPTED_IMAGES } from '../../common/image/image-format';
import { MnistInferenceService } from './mnist-inference.service';
import { MnistSamplesService } from './mnist-samples.service';
import {
  MnistSampleInfoDto,
  MnistSampleRequestDto,
  MnistSampleResponseDto,
  PredictionDto,
  PredictUploadDto,
  RandomSampleDto,
  RandomSamplesQueryDto,
  SampleImageQueryDto,
  SampleMetaDto,
} from './dto/mnist.dto';
import { DEFAULT_SAMPLE_NAME } from './output-files';
import { MnistDatasetService } from './mnist-dataset.service';

const NO_FILE =
  'Send the image as multipart/form-data in the field "file" (or several images in the field "files").';

/** Index path parameters: digits only, the range is checked against the dataset. */
function parseIndex(raw: string): number {
  if (!/^\d{1,9}$/.test(raw))
    throw new BadRequestException('index must be a whole number, e.g. /mnist/samples/100.');
  return Number(raw);
}

/** `file` or `files`; the route checks the field names itself, to say which one was wrong. */
const PREDICT_FILES = {
  messages: {
    too_many_files: (l: MultipartLimits) => `Send at most ${l.files} images per request.`,
    file_too_large: (l: MultipartLimits) => `Each image must be at most ${formatBytes(l.fileSize)}.`,
  },
};

@ApiTags('mnist')
@Controller()
export class MnistController {
  constructor(
    private readonly samples: MnistSamplesService,
    private readonly dataset: MnistDatasetService,
    private readonly inference: MnistInferenceService,
  ) {}

  @Get('mnist-sample')
  @ApiOperation({
    summary: 'Writes training image 100 to OUTPUT_DIR as a PNG (compatible with the original FastAPI route)',
  })
  @ApiOkResponse({ type: MnistSampleInfoDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST files are not installed' })
  async getSample(): Promise<MnistSampleInfoDto> {
    const { label, image_path, image_url } = await this.samples.write(100, DEFAULT_SAMPLE_NAME, false);
    return { label, image_path, image_url };
  }

  @Post('mnist-sample')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Writes a training image to OUTPUT_DIR as <base>_label<digit>[_noise].png (original FastAPI route)',
  })
  @ApiBody({
    type: MnistSampleRequestDto,
    examples: {
      plain: { value: { index: 7, filename: 'my_digit.png' } },
      noisy: { value: { index: 7, filename: 'my_digit.png', add_noise: true, seed: 42 } },
    },
  })
  @ApiOkResponse({ type: MnistSampleResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Index out of range or invalid body' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST files are not installed' })
  postSample(@Body() body: MnistSampleRequestDto): Promise<MnistSampleResponseDto> {
    return this.samples.write(
      body.index ?? 100,
      body.filename ?? DEFAULT_SAMPLE_NAME,
      body.add_noise ?? false,
      body.seed,
    );
  }

  // Declared before samples/:index so that "random" is not taken for an index.
  @Get('mnist/samples/random')
  @ApiOperation({ summary: 'Distinct random training samples with their labels and image URLs' })
  @ApiOkResponse({ type: [RandomSampleDto] })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST files are not installed' })
  random(@Query() query: RandomSamplesQueryDto): Promise<RandomSampleDto[]> {
    return this.samples.random(query.count ?? 10, query.seed);
  }

  @Get('mnist/samples/:index')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Access-Control-Expose-Headers', 'X-Label, X-Index, X-Noise-Seed')
  @ApiOperation({
    summary: 'A training image as PNG (white digit on black), its label in the X-Label header',
  })
  @ApiParam({ name: 'index', example: 100, description: '0 to 59999' })
  @ApiProduces('image/png')
  @ApiOkResponse({
    description: 'The PNG',
    schema: { type: 'string', format: 'binary' },
    headers: {
      'X-Label': { description: 'The digit shown', schema: { type: 'integer', example: 5 } },
      'X-Noise-Seed': { description: 'Seed of the noise, when noise was added', schema: { type: 'integer' } },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Index out of range or bad query' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST files are not installed' })
  async sampleImage(
    @Param('index') index: string,
    @Query() query: SampleImageQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const sample = await this.samples.image(parseIndex(index), query);
    res.setHeader('X-Label', String(sample.label));
    res.setHeader('X-Index', String(sample.index));
    if (sample.seed !== undefined) res.setHeader('X-Noise-Seed', String(sample.seed));
    // The same URL always gives the same image unless it asks for fresh random noise.
    const fixed = !query.noise || query.seed !== undefined;
    res.setHeader('Cache-Control', fixed ? 'public, max-age=3600' : 'no-store');
    return new StreamableFile(sample.png, { type: 'image/png', length: sample.png.length });
  }

  @Get('mnist/samples/:index/meta')
  @ApiOperation({ summary: 'The label of a training image' })
  @ApiParam({ name: 'index', example: 100, description: '0 to 59999' })
  @ApiOkResponse({ type: SampleMetaDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Index out of range' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST files are not installed' })
  async meta(@Param('index') index: string): Promise<SampleMetaDto> {
    const { label, index: i } = await this.dataset.at(parseIndex(index));
    return { index: i, label };
  }

  @Post('mnist/predict')
  @HttpCode(200)
  @UseInterceptors(Multipart(PREDICT_FILES))
  @ApiOperation({
    summary:
      'Recognises a handwritten digit in a photo, scan or drawing (one image, or several in one batch)',
    description:
      `Multipart field \`file\` (one image → one result) or \`files\` (up to MNIST_MAX_FILES → an array in the ` +
      `same order). ${ACCEPTED_IMAGES}; any size, dark-on-light or light-on-dark, transparency composited on ` +
      'white. The digit is prepared as MNIST was made (greyscale, inverted to white on black, cropped, longer ' +
      'side 20 px, centred by mass in 28×28). An image without a digit gets 422.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: PredictUploadDto })
  @ApiExtraModels(PredictionDto)
  @ApiOkResponse({
    description: 'One result for `file`, an array for `files`',
    schema: {
      oneOf: [
        { $ref: getSchemaPath(PredictionDto) },
        { type: 'array', items: { $ref: getSchemaPath(PredictionDto) } },
      ],
    },
  })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'No file, wrong field name or too many files',
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorResponseDto,
    description: 'A file or the image dimensions are too large',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'Not a supported image' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'Corrupt image, or no digit in it' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The model is loading or missing' })
  async predict(
    @UploadedFiles() files: ReceivedFile[] | undefined,
  ): Promise<PredictionDto | PredictionDto[]> {
    const list = files ?? [];
    if (list.length === 0) throw new BadRequestException(NO_FILE);
    const wrong = list.find((f) => f.fieldname !== 'file' && f.fieldname !== 'files');
    if (wrong) {
      throw new BadRequestException(
        `Unexpected field "${wrong.fieldname.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}": ${NO_FILE}`,
      );
    }
    const results = await this.inference.predict(list.map((f) => ({ data: f.buffer, name: f.originalname })));
    const single = list.length === 1 && list[0].fieldname === 'file';
    return single ? results[0] : results;
  }
}
