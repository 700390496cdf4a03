import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';

/** Deeper payloads are refused before validation (class-validator and class-transformer recurse). */
export const MAX_PAYLOAD_DEPTH = 32;

/** Whether a parsed JSON value nests objects or arrays more than `max` levels deep (iterative: any depth is safe). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * The shared ValidationPipe, refusing first what it could not survive: a payload nested beyond
 * MAX_PAYLOAD_DEPTH (HTTP body, socket.io event or message-transport request alike) gets a 400.
 */
class DepthLimitedValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // 'custom' parameters (the socket itself, the RPC context) are not client JSON and are not validated.
    if (metadata.type !== 'custom' && nestedDeeperThan(value, MAX_PAYLOAD_DEPTH))
      throw new BadRequestException(
        `The ${metadata.type === 'body' ? 'body' : metadata.type} is nested too deeply (more than ${MAX_PAYLOAD_DEPTH} levels of objects or arrays).`,
      );
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** One validation policy for HTTP bodies, queries and socket.io payloads: strict, typed, explained. */
export function createValidationPipe(): ValidationPipe {
  return new DepthLimitedValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Payloads that are not objects at all (a bare string, null) are rejected, not silently accepted.
    forbidUnknownValues: true,
    stopAtFirstError: true,
  });
}
