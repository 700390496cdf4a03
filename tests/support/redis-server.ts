import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

export interface RedisServer {
  url: string;
  port: number;
  /** Runs a redis-cli command against this server and returns its output. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/**
 * A real redis-server (Debian's `redis-server`, installed by `scripts/setup-system.sh --test`) on a free
 * loopback port, with its files in a temporary folder. Persistence stays on (append-only file), as in
 * production: tests restart app instances, not Redis.
 */
export async function startRedis(): Promise<RedisServer> {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0)
    throw new Error(
      'redis-server is not installed: run `bash scripts/setup-system.sh --test` (as root) first',
    );
  const dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--loglevel',
      'warning',
    ],
    { stdio: 'ignore' },
  );
  const cli = (...args: string[]): string => {
    const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
    return (r.stdout ?? '').trim();
  };
  for (let i = 0; i < 100 && cli('PING') !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50));
  if (cli('PING') !== 'PONG') {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not answer on port ${port}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    cli,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
