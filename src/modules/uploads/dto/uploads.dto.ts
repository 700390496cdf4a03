import { ApiProperty } from '@nestjs/swagger';
import { PageQueryDto } from '../../../common/http/page-query.dto';

/** OpenAPI body of every route that takes one image as multipart form data. */
export const IMAGE_UPLOAD_BODY = {
  schema: {
    type: 'object',
    required: ['file'],
    properties: {
      file: {
        type: 'string',
        format: 'binary',
        description: 'An image (PNG, JPEG, WebP, GIF, BMP or TIFF), recognised by its content',
      },
    },
  },
};

export class UploadMetaDto {
  @ApiProperty({ example: '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f', description: 'Server-generated id' })
  id: string;
  @ApiProperty({
    example: 'family photo.jpg',
    description: "The client's file name, made safe (metadata only)",
  })
  filename: string;
  @ApiProperty({ example: 487722, description: 'Bytes' }) size: number;
  @ApiProperty({ example: 'image/jpeg', description: 'From the content, not from the client' })
  contentType: string;
  @ApiProperty({ example: 1126, description: 'Pixels, EXIF orientation applied' }) width: number;
  @ApiProperty({ example: 661 }) height: number;
  @ApiProperty({ example: 'e62376298c04d1b3a0f1c5b6e7d8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6' })
  sha256: string;
  @ApiProperty({ example: '2025-01-31T09:15:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '/uploads/3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f', description: 'Where the file is' })
  path: string;
}

export class UploadResponseDto extends UploadMetaDto {
  @ApiProperty({ example: 'Image uploaded.' }) message: string;
  @ApiProperty({
    example: false,
    description:
      'True when the same bytes are also stored as another upload; this upload has its own id and file all the same',
  })
  duplicate: boolean;
}

export class UploadListDto {
  @ApiProperty({ type: [UploadMetaDto], description: 'Newest first' }) items: UploadMetaDto[];
  @ApiProperty({ example: 1 }) page: number;
  @ApiProperty({ example: 20 }) limit: number;
  @ApiProperty({ example: 42, description: 'Uploads in all' }) total: number;
  @ApiProperty({ example: 3 }) pages: number;
}

/** `limit` defaults to UPLOADS_PAGE_SIZE. */
export class UploadListQueryDto extends PageQueryDto {}

/** What a request without its image is told. */
export const NO_IMAGE_FILE = 'Send the image in the multipart form field "file".';

/** One image, in the field `file` (the original router's form). */
export const IMAGE_FIELD = {
  fileFields: ['file'],
  messages: {
    unexpected_field: () => 'Send exactly one image, in the multipart form field "file".',
    too_many_files: () => 'Send exactly one image, in the multipart form field "file".',
  },
} as const;
