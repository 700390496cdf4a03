import { registerAs } from '@nestjs/config';
import { Expose, plainToInstance, Transform } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/**
 * Each capability declares the environment variables it reads as a class with class-validator rules
 * (see app.config.ts). Every field needs @Expose(): only declared variables are read from the environment.
 */
export function loadEnv<T extends object>(schema: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    // An empty variable means "use the default", as in most twelve-factor apps.
    if (value !== undefined && value !== '') defined[key] = value;
  }
  const instance = plainToInstance(schema, defined, {
    enableImplicitConversion: true,
    excludeExtraneousValues: true,
    exposeDefaultValues: true,
  });
  const errors = validateSync(instance, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => describe(e, defined));
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return instance;
}

function describe(error: ValidationError, env: Record<string, string>): string {
  const got = env[error.property];
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `  - ${error.property}${got === undefined ? '' : ` (got "${got}")`}: ${reasons}`;
}

/** A typed, validated configuration namespace for `ConfigModule.forFeature`. */
export function defineConfig<T extends object>(namespace: string, schema: new () => T) {
  return registerAs(namespace, () => loadEnv(schema));
}

/** "true"/"1"/"yes" → true; "false"/"0"/"no" → false; anything else is left for @IsBoolean to reject. */
export function EnvBoolean(): PropertyDecorator {
  return Transform(({ obj, key, value }) => {
    const raw = (obj as Record<string, unknown>)[key];
    if (typeof raw !== 'string') return value;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return raw;
  });
}

/** A comma-separated list, trimmed, empty items dropped. */
export function EnvList(): PropertyDecorator {
  return Transform(({ obj, key, value }) => {
    const raw = (obj as Record<string, unknown>)[key];
    if (typeof raw !== 'string') return value;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  });
}

/** Sizes like "100kb", "10mb", "1048576" → bytes. */
export function EnvBytes(): PropertyDecorator {
  return Transform(({ obj, key, value }) => {
    const raw = (obj as Record<string, unknown>)[key];
    if (typeof raw !== 'string') return value;
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(raw);
    if (!m) return raw;
    const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
    return Math.round(parseFloat(m[1]) * unit);
  });
}

export { Expose };
