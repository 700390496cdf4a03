import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { ModelRegistry } from '../models/model-registry';

class LiveDto {
  @ApiProperty({ example: 'ok' }) status: string;
  @ApiProperty({ example: 12.5 }) uptimeSeconds: number;
}

class ReadyDto {
  @ApiProperty({ example: 'ready' }) status: string;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly models: ModelRegistry) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ type: LiveDto })
  live(): LiveDto {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime() * 10) / 10 };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every required model is loaded (503 with the reason until then)' })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto })
  ready(): ReadyDto {
    const { ready, notReady } = this.models.readiness();
    if (!ready) {
      throw new ServiceUnavailableException({
        message: `Not ready: ${notReady.map((m) => m.reason).join(' ')}`,
        details: notReady,
      });
    }
    return { status: 'ready' };
  }
}
