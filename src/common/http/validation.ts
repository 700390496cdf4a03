import { ValidationPipe } from '@nestjs/common';

/** One validation policy for HTTP bodies, queries and socket.io payloads: strict, typed, explained. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Payloads that are not objects at all (a bare string, null) are rejected, not silently accepted.
    forbidUnknownValues: true,
    stopAtFirstError: true,
  });
}
