import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeys } from './api-keys';
import { authConfig } from './auth.config';

/** API keys (off until API_KEYS or ADMIN_API_KEYS is set): a global guard for HTTP, ApiKeys for socket.io. */
@Global()
@Module({
  imports: [ConfigModule.forFeature(authConfig)],
  providers: [ApiKeys, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeys],
})
export class AuthModule {}
