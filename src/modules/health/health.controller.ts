import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { Public } from '../../common/auth/access';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { ModelRegistry } from '../models/model-registry';
import { RedisConnections } from '../redis/redis-connections';
import { LiveDto, ReadyDto } from './dto/health.dto';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly models: ModelRegistry,
    private readonly redis: RedisConnections,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ type: LiveDto })
  live(): LiveDto {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime() * 10) / 10 };
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: every required model is loaded, and Redis answers when REDIS_URL is set (503 with the reason until then)',
  })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto })
  async ready(): Promise<ReadyDto> {
    const { ready, notReady } = this.models.readiness();
    const details: { name: string; status: string; reason: string }[] = [...notReady];
    const redisUp = await this.redis.ping();
    if (!redisUp)
      details.push({
        name: 'redis',
        status: 'unreachable',
        reason: 'Redis (REDIS_URL) does not answer; sessions and rate limits are shared through it.',
      });
    if (!ready || !redisUp) {
      throw new ServiceUnavailableException({
        message: `Not ready: ${details.map((m) => m.reason).join(' ')}`,
        details,
      });
    }
    return { status: 'ready' };
  }
}
