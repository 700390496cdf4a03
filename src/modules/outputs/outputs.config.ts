import { ConfigType } from '@nestjs/config';
import { IsInt, Min } from 'class-validator';
import { defineConfig, EnvBytes, Expose } from '../../config/env';

export class OutputsEnv {
  /** Generated files older than this are deleted by the sweep (seconds; 0 keeps them whatever their age). */
  @Expose() @IsInt() @Min(0) OUTPUT_MAX_AGE_S: number = 7 * 24 * 3600;
  /** OUTPUT_DIR's size budget, e.g. "1gb": beyond it the oldest files go first (0: no budget). */
  @Expose() @EnvBytes() @IsInt() @Min(0) OUTPUT_MAX_BYTES: number = 1024 * 1024 * 1024;
  /** How often the sweep runs (seconds; 0: only at start-up). */
  @Expose() @IsInt() @Min(0) OUTPUT_SWEEP_INTERVAL_S: number = 600;
}

export const outputsConfig = defineConfig('outputs', OutputsEnv);
export type OutputsConfig = ConfigType<typeof outputsConfig>;
