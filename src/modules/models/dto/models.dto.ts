import { ApiProperty } from '@nestjs/swagger';

export class ModelFileDto {
  @ApiProperty({ example: 'models/mnist-cnn/model.onnx' }) path: string;
  @ApiProperty({ example: 412345 }) bytes: number;
}

export class ModelReportDto {
  @ApiProperty({ example: 'mnist-cnn' }) name: string;
  @ApiProperty({ example: 'image-classification' }) task: string;
  @ApiProperty({ description: 'Whether /health/ready waits for this model', example: true }) required: boolean;
  @ApiProperty({ enum: ['loading', 'ready', 'missing', 'failed'], example: 'ready' }) status: string;
  @ApiProperty({ nullable: true, type: String, example: 'models/mnist-cnn' }) folder: string | null;
  @ApiProperty({ type: [ModelFileDto] }) files: ModelFileDto[];
  @ApiProperty({ example: 412345 }) sizeBytes: number;
  @ApiProperty({ nullable: true, type: Number, example: 42 }) loadTimeMs: number | null;
  @ApiProperty({ nullable: true, type: String, example: null, description: 'Why it is missing or failed' })
  error: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { parameters: 98442 } })
  details: Record<string, unknown>;
}

export class ModelsResponseDto {
  @ApiProperty({ type: [ModelReportDto] }) models: ModelReportDto[];
}
