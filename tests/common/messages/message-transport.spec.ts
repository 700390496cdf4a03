import { BadRequestException, Logger } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, RpcException, Transport } from '@nestjs/microservices';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { firstValueFrom, timeout } from 'rxjs';
import { toRpcError } from '../../../src/common/errors/rpc-exception.filter';
import { imageFromPayload } from '../../../src/common/messages/image-payload';
import {
  RedisMessageServer,
  RedisMessageServerOptions,
  redisTransportOptions,
} from '../../../src/common/messages/redis-message-server';
import { freePort } from '../../support/ports';

describe('image payloads of messages', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);

  it('reads base64 (standard, URL-safe, data: URL, wrapped lines), byte arrays and serialised Buffers', () => {
    expect(imageFromPayload(png.toString('base64'))).toEqual(png);
    expect(imageFromPayload(png.toString('base64url'))).toEqual(png);
    expect(imageFromPayload(`data:image/png;base64,${png.toString('base64')}`)).toEqual(png);
    expect(imageFromPayload(png.toString('base64').replace(/(.{4})/g, '$1\n'))).toEqual(png);
    expect(imageFromPayload([...png])).toEqual(png);
    expect(imageFromPayload(JSON.parse(JSON.stringify(png)))).toEqual(png);
    expect(imageFromPayload(png)).toBe(png);
  });

  it('refuses what is not an image payload', () => {
    for (const bad of [
      '',
      'not base64!',
      'abcde',
      [],
      [1, 256],
      [1.5],
      ['1'],
      { type: 'Buffer' },
      42,
      null,
      {},
    ])
      expect(imageFromPayload(bad)).toBeUndefined();
  });
});

describe('message errors', () => {
  it('have the ErrorBody shape, validation details included', () => {
    expect(
      toRpcError(new BadRequestException(['message should not be empty', 'x should not exist'])),
    ).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'message should not be empty; x should not exist',
      details: ['message should not be empty', 'x should not exist'],
    });
    expect(toRpcError(new RpcException('nope'))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'nope',
    });
    expect(toRpcError(new Error('secret stack'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error.',
    });
  });
});

describe('redisTransportOptions', () => {
  it('takes host, port, credentials, db and TLS from REDIS_URL', () => {
    expect(redisTransportOptions('redis://127.0.0.1:6380/2')).toEqual({
      host: '127.0.0.1',
      port: 6380,
      db: 2,
    });
    expect(redisTransportOptions('rediss://user:p%40ss@redis.example:6390')).toEqual({
      host: 'redis.example',
      port: 6390,
      username: 'user',
      password: 'p@ss',
      tls: {},
    });
    expect(redisTransportOptions('redis://:secret@redis')).toEqual({
      host: 'redis',
      port: 6379,
      password: 'secret',
    });
  });
});

const redisInstalled = spawnSync('redis-server', ['--version']).status === 0;

(redisInstalled ? describe : describe.skip)('RedisMessageServer (real redis-server)', () => {
  let dir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  const servers: RedisMessageServer[] = [];
  const clients: ClientProxy[] = [];

  const startRedisOn = async (p: number) => {
    redis = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('redis-cli', ['-p', String(p), 'PING'], { encoding: 'utf8' });
      if (r.stdout.trim() === 'PONG') return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('redis-server did not start');
  };
  const server = (
    handlers: Record<string, (data: unknown) => Promise<unknown>>,
    claim?: RedisMessageServerOptions['claim'],
  ) => {
    const s = new RedisMessageServer(redisTransportOptions(`redis://127.0.0.1:${port}`), {
      claim,
      drainTimeoutMs: 5000,
    });
    for (const [pattern, fn] of Object.entries(handlers)) s.addHandler(pattern, (data: unknown) => fn(data));
    servers.push(s);
    return s;
  };
  const client = async () => {
    const c = ClientProxyFactory.create({ transport: Transport.REDIS, options: { host: '127.0.0.1', port } });
    await c.connect();
    clients.push(c);
    return c;
  };
  const listen = (s: RedisMessageServer) =>
    new Promise<void>((resolve, reject) => s.listen((err) => (err ? reject(err) : resolve())));
  const send = (c: ClientProxy, pattern: string, data: unknown, ms = 5000) =>
    firstValueFrom(c.send(pattern, data).pipe(timeout(ms)));

  beforeAll(async () => {
    Logger.overrideLogger(false);
    dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-msg-'));
    port = await freePort();
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const s of servers) await s.close();
    redis?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts without Redis and answers once Redis is up', async () => {
    const s = server({ echo: async (d) => ({ echo: d }) });
    await listen(s); // resolves at once: start-up never waits for Redis
    // Its first connection attempts fail (nothing listens yet); it keeps retrying.
    await new Promise((r) => setTimeout(r, 1500));
    await startRedisOn(port);
    const c = await client();
    // The subscription is made once the server's connection retries succeed (retry every second).
    let reply: unknown;
    for (let i = 0; i < 30 && reply === undefined; i++)
      reply = await send(c, 'echo', { n: 1 }, 500).catch(
        () => new Promise((r) => setTimeout(() => r(undefined), 250)),
      );
    expect(reply).toEqual({ echo: { n: 1 } });
  }, 30_000);

  it('has each request answered by one of several subscribed servers, and drains on close', async () => {
    const claimed = new Set<string>();
    const claim = async (id: string) => {
      if (claimed.has(id)) return false;
      claimed.add(id);
      return true;
    };
    let handled = 0;
    const slow = async (d: unknown) => {
      handled++;
      await new Promise((r) => setTimeout(r, 300));
      return d;
    };
    const a = server({ slow }, claim);
    const b = server({ slow }, claim);
    await Promise.all([listen(a), listen(b)]);
    const c = await client();
    await new Promise((r) => setTimeout(r, 300)); // subscriptions made
    expect(await Promise.all([1, 2, 3, 4].map((n) => send(c, 'slow', n)))).toEqual([1, 2, 3, 4]);
    expect(handled).toBe(4);

    // close() while a request is in flight: the reply still arrives, then the server is gone.
    const inFlight = send(c, 'slow', 'last');
    await new Promise((r) => setTimeout(r, 100));
    const [pending] = [a.pending + b.pending];
    expect(pending).toBe(1);
    await Promise.all([a.close(), b.close()]);
    await expect(inFlight).resolves.toBe('last');
    await expect(send(c, 'slow', 'after', 1000)).rejects.toThrow(/Timeout/);
  }, 30_000);
});
