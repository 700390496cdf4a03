import type { LoggerService } from '@nestjs/common';
import { StartupQuietLogger } from '../../../src/common/http/startup-logger';

describe('StartupQuietLogger', () => {
  it("demotes Nest's start-up lines to debug and passes everything else through", () => {
    const seen: string[] = [];
    const record =
      (level: string) =>
      (message: unknown, ...rest: unknown[]) =>
        seen.push(`${level} ${String(rest.at(-1))}: ${String(message)}`);
    const inner: LoggerService = {
      log: record('log'),
      error: record('error'),
      warn: record('warn'),
      debug: record('debug'),
    };
    const logger = new StartupQuietLogger(inner);
    logger.log('Mapped {/chat, POST} route', 'RouterExplorer');
    logger.log('ChatModule dependencies initialized', 'InstanceLoader');
    logger.log('model chat-encoder ready in 800 ms', 'ModelRegistry');
    logger.warn('careful', 'ChatService');
    logger.error('broken', 'RouterExplorer');
    expect(seen).toEqual([
      'debug RouterExplorer: Mapped {/chat, POST} route',
      'debug InstanceLoader: ChatModule dependencies initialized',
      'log ModelRegistry: model chat-encoder ready in 800 ms',
      'warn ChatService: careful',
      'error RouterExplorer: broken',
    ]);
  });
});
