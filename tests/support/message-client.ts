/**
 * A separate client process for the message transport, as another back-end service would be:
 *
 *   node -r ts-node/register/transpile-only tests/support/message-client.ts <REDIS_URL> <requests.json>
 *
 * requests.json: `[{ "pattern": "chat.message", "data": { ... } }, ...]`, sent one after the other with
 * `firstValueFrom(client.send(pattern, data))`. Prints one JSON array to stdout, in the same order:
 * `{ ok: true, response, ms }` or `{ ok: false, error, ms }`.
 */
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { readFileSync } from 'node:fs';
import { firstValueFrom, timeout } from 'rxjs';
import { redisTransportOptions } from '../../src/common/messages/redis-message-server';

interface Request {
  pattern: string;
  data: unknown;
}

async function main(): Promise<void> {
  const [url, file] = process.argv.slice(2);
  if (!url || !file) throw new Error('usage: message-client.ts <REDIS_URL> <requests.json>');
  Logger.overrideLogger(false); // stdout carries the results only
  const requests = JSON.parse(readFileSync(file, 'utf8')) as Request[];
  const client = ClientProxyFactory.create({
    transport: Transport.REDIS,
    options: redisTransportOptions(url),
  });
  await client.connect();
  const results: unknown[] = [];
  for (const r of requests) {
    const started = performance.now();
    try {
      const response = await firstValueFrom(client.send(r.pattern, r.data).pipe(timeout(20_000)));
      results.push({ ok: true, response, ms: performance.now() - started });
    } catch (error) {
      const e = error instanceof Error ? { name: error.name, message: error.message } : error;
      results.push({ ok: false, error: e, ms: performance.now() - started });
    }
  }
  await client.close();
  process.stdout.write(JSON.stringify(results));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
