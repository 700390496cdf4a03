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
import { RedisConnections } from '../redis/redis-connections';

/** How long readiness waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 1000;

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
    const { ready: modelsReady, notReady } = this.models.readiness();
    const details: { name: string; status: string; reason: string }[] = [...notReady];
    if (this.redis.enabled && !(await this.redisAnswers()))
      details.push({
        name: 'redis',
        status: 'unreachable',
        reason: 'Redis (REDIS_URL) does not answer; sessions and rate limits are shared through it.',
      });
    const ready = modelsReady && details.length === notReady.length;
    if (!ready) {
      throw new ServiceUnavailableException({
        message: `Not ready: ${details.map((m) => m.reason).join(' ')}`,
        details,
      });
    }
    return { status: 'ready' };
  }

  /** PING within a second; at once false while the connection is lost (commands would queue meanwhile). */
  private async redisAnswers(): Promise<boolean> {
    if (['reconnecting', 'close', 'end'].includes(this.redis.client().status)) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), REDIS_PING_TIMEOUT_MS)));
    try {
      return await Promise.race([this.redis.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
