import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI schema of ErrorBody, referenced by every route's error responses. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ example: 'Bad Request' }) error: string;
  @ApiProperty({ example: 'message must be shorter than or equal to 500 characters' }) message: string;
  @ApiProperty({ example: '6f1c1d1e-8f0a-4a43-9a55-1a2b3c4d5e6f' }) requestId: string;
  @ApiProperty({ required: false, description: 'Machine-readable specifics, e.g. every validation problem' })
  details?: unknown;
}
