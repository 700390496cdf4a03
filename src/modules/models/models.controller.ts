import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ModelRegistry } from './model-registry';
import { ModelsResponseDto } from './dto/models.dto';

@ApiTags('health')
@Controller('models')
export class ModelsController {
  constructor(private readonly registry: ModelRegistry) {}

  @Get()
  @ApiOperation({ summary: 'Every model the service knows, with its files, status and load time' })
  @ApiOkResponse({ type: ModelsResponseDto })
  async list(): Promise<ModelsResponseDto> {
    return { models: await this.registry.report() };
  }
}
