import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, SHARED } from './app';
import { freePort } from './ports';

const MAIN = path.join(REPO_ROOT, 'dist', 'main.js');

/** One instance of the built server (`npm run build`, as `npm start` runs it) in a child process. */
export interface Instance {
  url: string;
  port: number;
  child: ChildProcess;
  /** Lines the process wrote to stderr (start-up failures). */
  stderr: string[];
  /** Ends the process with `signal` (SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the same instance again on the same port, with the same environment. */
  restart(): Promise<void>;
}

/**
 * Starts the built server with `env` over the test defaults, and waits until no model is loading. Several
 * instances given the same UPLOAD_DIR/OUTPUT_DIR share their files, as replicas share a volume.
 */
export async function startInstance(env: Record<string, string>, port?: number): Promise<Instance> {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}`;
  const fullEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    MNIST_DIR: path.join(SHARED, 'mnist'),
    ...env,
    PORT: String(p),
  };
  const instance: Instance = {
    url,
    port: p,
    child: undefined as unknown as ChildProcess,
    stderr: [],
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      const child = instance.child;
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
    restart: async () => {
      await instance.stop();
      await launch();
    },
  };
  const launch = async () => {
    const child = spawn(process.execPath, [MAIN], {
      cwd: REPO_ROOT,
      env: fullEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => instance.stderr.push(s));
    instance.child = child;
    await waitReady(url, child, instance.stderr);
  };
  await launch();
  return instance;
}

async function waitReady(url: string, child: ChildProcess, stderr: string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null)
      throw new Error(`the server exited with ${child.exitCode}: ${stderr.join('')}`);
    try {
      const r = await fetch(`${url}/models`);
      if (r.ok) {
        const body = (await r.json()) as { models: { status: string }[] };
        if (body.models.every((m) => m.status !== 'loading')) return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the server at ${url} did not become ready: ${stderr.join('')}`);
}
