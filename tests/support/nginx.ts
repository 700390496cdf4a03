import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './app';
import { freePort } from './ports';

export interface Nginx {
  url: string;
  port: number;
  /** nginx's error log so far. */
  errors(): string;
  stop(): Promise<void>;
}

const NGINX =
  process.env.NGINX_BIN ??
  spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx'], { encoding: 'utf8' }).stdout.trim();
const DEPLOY = path.join(REPO_ROOT, 'deploy', 'nginx');

/**
 * Debian's nginx on a free loopback port in front of local instances, with the project's own proxy rules
 * (deploy/nginx/ai-server.http.conf and ai-server.locations.conf, the files docker-compose mounts). Only
 * what is environment-specific is written here: the two upstream blocks, the listen address, temp paths.
 */
export async function startNginx(
  backendPorts: number[],
  opts: { connections?: number } = {},
): Promise<Nginx> {
  if (spawnSync(NGINX, ['-v']).status !== 0)
    throw new Error('nginx is not installed: run `bash scripts/setup-system.sh --test` (as root) first');
  const dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
  const port = await freePort();
  const servers = backendPorts
    .map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`)
    .join('\n');
  const conf = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${opts.connections ?? 1024}; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log off;
  include ${DEPLOY}/ai-server.http.conf;
  upstream ai_sticky {
    ip_hash;
${servers}
  }
  upstream ai_balanced {
    least_conn;
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    include ${DEPLOY}/ai-server.locations.conf;
  }
}
`;
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const errorLog = path.join(dir, 'error.log');
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', file, '-e', errorLog], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const errors = () => {
    try {
      return readFileSync(errorLog, 'utf8') + stderr;
    } catch {
      return stderr;
    }
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(`${url}/health/live`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode !== null) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start: ${stderr}`);
  }
  return {
    url,
    port,
    errors,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
