import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInstance, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

export const MOSAIC_METHODS = ['pixelate', 'blur'] as const;
export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Detector parameters, OpenCV's detectMultiScale defaults as the original used them. */
export class DetectQueryDto {
  @ApiPropertyOptional({ minimum: 1.01, maximum: 2, default: 1.1, example: 1.1, description: 'Scale step' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1.01)
  @Max(2)
  scaleFactor?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 50,
    default: 3,
    example: 3,
    description: 'Overlapping detections needed to keep a face (higher: fewer false faces)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(50)
  minNeighbors?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 4096,
    default: 30,
    example: 30,
    description: 'Smallest face, in pixels (a square of this side)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(4096)
  minSize?: number;
}

export class MosaicParamsDto extends DetectQueryDto {
  @ApiPropertyOptional({
    minimum: 2,
    maximum: 64,
    default: 16,
    example: 16,
    description: 'Cells across each face (pixelate); for blur, sigma = face side / blocks',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(64)
  blocks?: number;

  @ApiPropertyOptional({ enum: MOSAIC_METHODS, default: 'pixelate', example: 'pixelate' })
  @IsOptional()
  @IsIn(MOSAIC_METHODS)
  method?: (typeof MOSAIC_METHODS)[number];
}

export class MosaicQueryDto extends MosaicParamsDto {
  @ApiPropertyOptional({
    enum: OUTPUT_FORMATS,
    example: 'png',
    description: 'Output format; default: the input format (PNG for GIF, BMP and TIFF input)',
  })
  @IsOptional()
  @IsIn(OUTPUT_FORMATS)
  format?: OutputFormat;

  @ApiPropertyOptional({
    enum: ['image', 'json'],
    default: 'image',
    example: 'image',
    description: '`image`: the processed image; `json`: boxes and a link to the image stored in OUTPUT_DIR',
  })
  @IsOptional()
  @IsIn(['image', 'json'])
  response?: 'image' | 'json';
}

export class FaceBoxDto {
  @ApiProperty({ example: 236, description: 'Left edge, pixels' }) x: number;
  @ApiProperty({ example: 31, description: 'Top edge, pixels' }) y: number;
  @ApiProperty({ example: 169, description: 'Width, pixels' }) w: number;
  @ApiProperty({ example: 169, description: 'Height, pixels' }) h: number;
}

const FACES_EXAMPLE = [
  { x: 236, y: 31, w: 169, h: 169 },
  { x: 788, y: 62, w: 171, h: 171 },
];

export class DetectResponseDto {
  @ApiProperty({ type: [FaceBoxDto], example: FACES_EXAMPLE, description: 'In detection order' })
  faces: FaceBoxDto[];
  @ApiProperty({ example: 1126, description: 'Image width (EXIF orientation applied)' }) width: number;
  @ApiProperty({ example: 661 }) height: number;
  @ApiProperty({ example: 182, description: 'Server time for decoding and detection, ms' }) latencyMs: number;
}

export class MosaicJsonResponseDto extends DetectResponseDto {
  @ApiProperty({
    example: '/outputs/mosaic-3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f.jpg',
    description: 'The processed image, stored in OUTPUT_DIR',
  })
  imageUrl: string;
}

export class MosaicFileResultDto {
  @ApiProperty({ example: '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f', description: 'Upload id' }) id: string;
  @ApiProperty({ example: 'two_people.jpg', description: 'The upload’s (safe) original name' })
  filename: string;
  @ApiProperty({ enum: ['processed', 'no_faces', 'failed'], example: 'processed' }) status: string;
  @ApiProperty({ example: 2 }) faces: number;
  @ApiPropertyOptional({ example: '/outputs/3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f-face.png' }) output?: string;
  @ApiPropertyOptional({ example: 'The JPEG image is truncated or corrupt.' }) error?: string;
}

export class MosaicBatchResponseDto {
  @ApiProperty({ example: 'Processed 2 of 3 images; 1 had no face.' }) message: string;
  @ApiProperty({
    type: [String],
    example: ['two_people.jpg', 'kit_with_rose.jpg'],
    description: 'Names of the uploads whose faces were pixelated (output `<id>-face.png` in OUTPUT_DIR)',
  })
  processed_files: string[];
  @ApiProperty({
    type: [String],
    example: ['obama_partial_face.jpg'],
    description: 'Names of the uploads without a face, or that could not be processed',
  })
  failed_files: string[];
  @ApiProperty({ type: [MosaicFileResultDto], description: 'Per upload, newest first' })
  results: MosaicFileResultDto[];
}

/** The socket.io `mosaic` payload when it is an object (a bare binary image is accepted too). */
export class MosaicMessageDto {
  @IsInstance(Buffer, { message: 'image must be binary image data' }) image: Buffer;

  @IsOptional() @IsInt() @Min(2) @Max(64) blocks?: number;
  @IsOptional() @IsIn(MOSAIC_METHODS) method?: (typeof MOSAIC_METHODS)[number];
  @IsOptional() @IsIn(OUTPUT_FORMATS) format?: OutputFormat;
}
