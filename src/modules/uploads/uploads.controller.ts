import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  StreamableFile,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { createReadStream } from 'node:fs';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { Multipart, ReceivedFile } from '../../common/http/multipart/multipart.interceptor';
import { RequiredFile } from '../../common/http/multipart/required-file.pipe';
import {
  IMAGE_FIELD,
  NO_IMAGE_FILE,
  IMAGE_UPLOAD_BODY,
  UploadListDto,
  UploadListQueryDto,
  UploadMetaDto,
  UploadResponseDto,
} from './dto/uploads.dto';
import { UploadsService } from './uploads.service';
import { AdminOnly } from '../../common/auth/access';

const ID_PARAM = {
  name: 'id',
  description: 'Upload id, as returned by POST /upload',
  example: '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f',
};

@ApiTags('uploads')
@Controller()
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Post('upload')
  @HttpCode(200)
  @UseInterceptors(Multipart({ ...IMAGE_FIELD, hash: true }))
  @ApiOperation({
    summary: 'Store an image',
    description:
      'Multipart form with the image in the field `file`. Only images are accepted, recognised by their content ' +
      '(not the name or Content-Type) and checked whole (every segment or chunk up to the end marker, PNG CRCs: a truncated or damaged file is refused); the file is stored under a server-generated id and the ' +
      'client name is kept only as metadata. Every upload is its own (own id, name and file): the same bytes ' +
      'uploaded again are stored again, with `duplicate: true` saying so; deleting one upload never removes another.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody(IMAGE_UPLOAD_BODY)
  @ApiOkResponse({
    type: UploadResponseDto,
    example: {
      filename: 'two_people.jpg',
      message: 'Image uploaded.',
      path: '/uploads/3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f',
      id: '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f',
      size: 487722,
      contentType: 'image/jpeg',
      width: 1126,
      height: 661,
      sha256: 'e62376298c04d1b3a0f1c5b6e7d8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6',
      createdAt: '2025-01-31T09:15:00.000Z',
      duplicate: false,
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'No file in the field `file`' })
  @ApiPayloadTooLargeResponse({
    type: ErrorResponseDto,
    description:
      'Over UPLOAD_MAX_BYTES, or more pixels than IMAGE_MAX_PIXELS (from the header, before decoding)',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'Not a supported image' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'A truncated or corrupt image' })
  upload(@UploadedFile(new RequiredFile(NO_IMAGE_FILE)) file: ReceivedFile): Promise<UploadResponseDto> {
    return this.uploads.upload(file);
  }

  @Get('uploads')
  @ApiOperation({ summary: 'Uploaded images, newest first, a page at a time' })
  @ApiOkResponse({ type: UploadListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid page or limit' })
  list(@Query() query: UploadListQueryDto): Promise<UploadListDto> {
    return this.uploads.list(query.page, query.limit);
  }

  @Get('uploads/:id')
  @ApiOperation({
    summary: 'The uploaded file',
    description:
      'With its real content type, `X-Content-Type-Options: nosniff` and a Content-Disposition carrying the ' +
      'safe original name.',
  })
  @ApiParam(ID_PARAM)
  @ApiProduces('image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff')
  @ApiOkResponse({ description: 'The image', schema: { type: 'string', format: 'binary' } })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or malformed id' })
  async file(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    const file = await this.uploads.file(id);
    res.set(file.headers);
    return new StreamableFile(createReadStream(file.path));
  }

  @Get('uploads/:id/meta')
  @ApiOperation({ summary: "An upload's metadata" })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: UploadMetaDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or malformed id' })
  meta(@Param('id') id: string): Promise<UploadMetaDto> {
    return this.uploads.meta(id);
  }

  @Delete('uploads/:id')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an upload (the file and its metadata)' })
  @ApiParam(ID_PARAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or malformed id' })
  async delete(@Param('id') id: string): Promise<void> {
    await this.uploads.delete(id);
  }
}
