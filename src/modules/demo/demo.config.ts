import { ConfigType } from '@nestjs/config';
import { IsBoolean } from 'class-validator';
import { defineConfig, EnvBoolean, Expose } from '../../config/env';

export class DemoEnv {
  /** Serve the demo page (`public/`) at `/`; `false` leaves only the API. */
  @Expose() @EnvBoolean() @IsBoolean() DEMO_ENABLED: boolean = true;
}

export const demoConfig = defineConfig('demo', DemoEnv);
export type DemoConfig = ConfigType<typeof demoConfig>;
