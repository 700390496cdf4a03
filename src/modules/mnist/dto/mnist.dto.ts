import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

const MAX_SEED = 2 ** 32 - 1;

/** Query booleans: "true"/"1"/"yes" and "false"/"0"/"no"; anything else is left for @IsBoolean to refuse. */
function QueryBoolean(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return value;
  });
}

/** Body of `POST /mnist-sample` (the original FastAPI service's request, field for field, plus `seed`). */
export class MnistSampleRequestDto {
  @ApiPropertyOptional({
    description: 'Index of the image in the MNIST training set, 0 to 59999',
    default: 100,
    example: 7,
  })
  @IsOptional()
  @IsInt()
  index?: number = 100;

  @ApiPropertyOptional({
    description:
      'Name for the written file: only its last path segment is used, unsafe characters become "_", and the ' +
      'extension is always .png; the file is saved as <base>_label<digit>[_noise].png in OUTPUT_DIR',
    default: 'mnist_sample.png',
    example: 'my_digit.png',
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  filename?: string = 'mnist_sample.png';

  @ApiPropertyOptional({
    description: 'Add Gaussian noise (σ = 15, clipped to 0-255)',
    default: false,
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  add_noise?: boolean = false;

  @ApiPropertyOptional({
    description: 'Seed of the noise, for a reproducible image (random when omitted)',
    minimum: 0,
    maximum: MAX_SEED,
    example: 42,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEED)
  seed?: number;
}

export class MnistSampleInfoDto {
  @ApiProperty({ description: 'The digit shown', example: 1 }) label: number;
  @ApiProperty({
    description: 'Where the PNG was written, relative to the working directory when inside it',
    example: 'data/output/mnist_sample_label1.png',
  })
  image_path: string;
  @ApiProperty({ description: 'The same file over HTTP', example: '/outputs/mnist_sample_label1.png' })
  image_url: string;
}

export class MnistSampleResponseDto extends MnistSampleInfoDto {
  @ApiProperty({ example: true }) has_noise: boolean;
  @ApiPropertyOptional({ description: 'Seed of the noise (when noise was added)', example: 42 })
  seed?: number;
}

export class SampleImageQueryDto {
  @ApiPropertyOptional({ description: 'Add Gaussian noise (σ = 15)', default: false, example: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  noise?: boolean = false;

  @ApiPropertyOptional({ description: 'Seed of the noise (random when omitted)', example: 42 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEED)
  seed?: number;

  @ApiPropertyOptional({
    description: 'Enlargement factor (nearest neighbour, crisp pixels): 1 = 28×28, 10 = 280×280',
    minimum: 1,
    maximum: 20,
    default: 1,
    example: 10,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  scale?: number = 1;
}

export class RandomSamplesQueryDto {
  @ApiPropertyOptional({
    description: 'How many distinct samples',
    minimum: 1,
    maximum: 50,
    default: 10,
    example: 8,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  count?: number = 10;

  @ApiPropertyOptional({ description: 'Seed for a reproducible choice (random when omitted)', example: 7 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEED)
  seed?: number;
}

export class SampleMetaDto {
  @ApiProperty({ example: 100 }) index: number;
  @ApiProperty({ example: 5 }) label: number;
}

export class RandomSampleDto {
  @ApiProperty({ example: 31337 }) index: number;
  @ApiProperty({ example: 3 }) label: number;
  @ApiProperty({ description: 'The PNG of this sample', example: '/mnist/samples/31337' }) imageUrl: string;
}

export class PredictionDto {
  @ApiProperty({ description: 'The recognised digit', example: 7 }) digit: number;
  @ApiProperty({ description: 'Its probability', example: 0.9987 }) confidence: number;
  @ApiProperty({
    description: 'Probability of each digit 0-9 (softmax)',
    type: [Number],
    example: [0.0001, 0.0002, 0.0003, 0.0001, 0.0001, 0.0001, 0.0001, 0.9987, 0.0001, 0.0002],
  })
  probabilities: number[];
  @ApiProperty({
    description: 'Server time for this image: decoding, preparation and inference, in ms',
    example: 3.2,
  })
  latencyMs: number;
}

/** OpenAPI schema of the multipart body of `POST /mnist/predict`. */
export class PredictUploadDto {
  @ApiPropertyOptional({
    type: 'string',
    format: 'binary',
    description: 'One image (PNG, JPEG, WebP, GIF, BMP or TIFF)',
  })
  file?: unknown;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', format: 'binary' },
    description:
      'Several images (up to MNIST_MAX_FILES, default 32); the answer is an array in the same order',
  })
  files?: unknown[];
}
