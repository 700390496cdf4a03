/**
 * Scaling out: many socket.io chat clients against one instance, and against two instances behind nginx
 * sharing one Redis. The built server (`npx nest build`) in child processes, as `npm start` runs it.
 *
 *   npx ts-node --transpile-only bench/scale.ts [seconds per case = 60] [clients = 500] [load processes = 2]
 *
 * Cases, each with the same clients (websocket-only socket.io, namespace `/chat`, each socket its own session,
 * closed loop: a socket sends its next message, an eval question, as soon as the previous one is acknowledged):
 *   - one instance, REDIS_URL set, clients connected directly: the baseline;
 *   - one instance without Redis (state in memory), directly: what Redis costs one instance;
 *   - one instance with Redis behind nginx: what the proxy costs;
 *   - two instances with REDIS_URL to one Redis, behind nginx (`startNginx([a, b])`, new websockets balanced
 *     by least_conn): the scale-out.
 * Every message must be answered: an acknowledgement with a reply counts as answered, one with `{ error }` as
 * an error; whatever has neither by the end of the case plus a grace period counts as lost.
 * The generator is off (GENERATOR_MODEL=none: generated answers would measure the GPT-2 worker queue, see
 * bench/generation.ts), and so are the rate limits. Prints a markdown table; "vs baseline" = messages/s ÷ the
 * baseline's messages/s.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';

const ROOT = path.resolve(__dirname, '..');
/** After the case ends, how long unanswered messages may still be answered before they count as lost. */
const GRACE_MS = 10_000;
/** A socket waiting this long for an acknowledgement stops waiting and sends its next message. */
const ACK_TIMEOUT_MS = 30_000;

// ------------------------------------------------------------------------------------------------------
// Load generator (a child process: `bench/scale.ts --load`)

interface LoadJob {
  url: string;
  clients: number;
  warmupMs: number;
  runMs: number;
  questions: string[];
  offset: number;
}

export interface LoadResult {
  connected: number;
  connectErrors: number;
  /** Disconnections the client did not ask for. */
  dropped: number;
  sent: number;
  answered: number;
  errors: number;
  lost: number;
  /** Acknowledgement latencies (ms) of the messages answered in the measured window. */
  latencies: number[];
  /** Measured window, ms. */
  elapsedMs: number;
  errorSamples: string[];
}

async function connectAll(url: string, n: number): Promise<{ sockets: Socket[]; errors: number }> {
  const sockets: Socket[] = [];
  let errors = 0;
  // In batches, so that 500 handshakes do not all land in the same millisecond.
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(50, n - i) },
        () =>
          new Promise<Socket | null>((resolve) => {
            const s = io(`${url}/chat`, { transports: ['websocket'], forceNew: true, reconnection: false });
            const timer = setTimeout(() => resolve(null), 20_000);
            s.once('session', () => {
              clearTimeout(timer);
              resolve(s);
            });
            s.once('connect_error', () => {
              clearTimeout(timer);
              resolve(null);
            });
          }),
      ),
    );
    for (const s of batch) {
      if (s) sockets.push(s);
      else errors++;
    }
  }
  return { sockets, errors };
}

async function runLoad(job: LoadJob, sockets: Socket[], connectErrors: number): Promise<LoadResult> {
  const r: LoadResult = {
    connected: sockets.length,
    connectErrors,
    dropped: 0,
    sent: 0,
    answered: 0,
    errors: 0,
    lost: 0,
    latencies: [],
    elapsedMs: job.runMs,
    errorSamples: [],
  };
  for (const s of sockets)
    s.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') r.dropped++;
    });
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const until = measureFrom + job.runMs;
  /** Messages of the measured window not answered yet. */
  let pending = 0;
  let n = job.offset;
  const lanes = sockets.map(async (s) => {
    while (performance.now() < until && s.connected) {
      const sentAt = performance.now();
      const measured = sentAt >= measureFrom;
      const text = job.questions[n++ % job.questions.length];
      if (measured) {
        r.sent++;
        pending++;
      }
      // The acknowledgement settles the message whenever it comes, even after this socket moved on.
      const settled = new Promise<void>((resolve) => {
        s.emit('message', { text }, (ack: { error?: { message?: string } } | undefined) => {
          if (measured) {
            pending--;
            if (ack?.error) {
              r.errors++;
              if (r.errorSamples.length < 5) r.errorSamples.push(String(ack.error.message));
            } else {
              r.answered++;
              r.latencies.push(performance.now() - sentAt);
            }
          }
          resolve();
        });
      });
      await Promise.race([settled, new Promise((res) => setTimeout(res, ACK_TIMEOUT_MS))]);
    }
  });
  await Promise.all(lanes);
  // Grace: whatever is still unanswered gets GRACE_MS more.
  const graceUntil = performance.now() + GRACE_MS;
  while (pending > 0 && performance.now() < graceUntil) await new Promise((res) => setTimeout(res, 50));
  r.lost = pending;
  for (const s of sockets) s.disconnect();
  return r;
}

function loadChild(): void {
  let sockets: Socket[] = [];
  let connectErrors = 0;
  let job: LoadJob;
  process.on('message', (m: { type: string; job?: LoadJob }) => {
    void (async () => {
      if (m.type === 'connect' && m.job) {
        job = m.job;
        ({ sockets, errors: connectErrors } = await connectAll(job.url, job.clients));
        process.send?.({ type: 'connected', connected: sockets.length });
      } else if (m.type === 'go') {
        const result = await runLoad(job, sockets, connectErrors);
        process.send?.({ type: 'result', result }, () => process.exit(0));
      }
    })();
  });
}

// ------------------------------------------------------------------------------------------------------
// Orchestration

interface Row {
  name: string;
  instances: number;
  result: LoadResult;
  perInstance: number[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string } & T) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load process exited with ${code}`)));
  });
}

/** `clients` sockets spread over `procs` load processes, all connected before any sends. */
async function load(
  url: string,
  clients: number,
  procs: number,
  warmupMs: number,
  runMs: number,
  questions: string[],
  onConnected: () => Promise<void>,
): Promise<LoadResult> {
  const children = Array.from({ length: procs }, () =>
    fork(__filename, ['--load'], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    const share = (i: number) => Math.floor(clients / procs) + (i < clients % procs ? 1 : 0);
    await Promise.all(
      children.map((c, i) => {
        const connected = once<{ connected: number }>(c, 'connected');
        c.send({
          type: 'connect',
          job: { url, clients: share(i), warmupMs, runMs, questions, offset: i * 37 },
        });
        return connected;
      }),
    );
    await onConnected();
    const results = await Promise.all(
      children.map((c) => {
        const done = once<{ result: LoadResult }>(c, 'result');
        c.send({ type: 'go' });
        return done.then((m) => m.result);
      }),
    );
    return results.reduce((a, b) => ({
      connected: a.connected + b.connected,
      connectErrors: a.connectErrors + b.connectErrors,
      dropped: a.dropped + b.dropped,
      sent: a.sent + b.sent,
      answered: a.answered + b.answered,
      errors: a.errors + b.errors,
      lost: a.lost + b.lost,
      latencies: a.latencies.concat(b.latencies),
      elapsedMs: Math.max(a.elapsedMs, b.elapsedMs),
      errorSamples: a.errorSamples.concat(b.errorSamples).slice(0, 5),
    }));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}

/** socket.io `/chat` connections an instance holds now (from its /metrics). */
async function wsConnections(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ws_connections\{[^}]*namespace="\/chat"[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  const clients = Number(process.argv[3] ?? 500);
  const procs = Number(process.argv[4] ?? 2);
  const warmupMs = Math.min(5, Math.max(1, seconds / 10)) * 1000;
  // Loaded here, not at the top: the load processes need none of it.
  const instances = require('../tests/support/instances') as typeof import('../tests/support/instances');
  // dist/ is rebuilt (deleted, then written) by `nest build`: wait out a build running beside the bench.
  const startInstance = async (env: Record<string, string>) => {
    for (let i = 0; i < 120 && !existsSync(path.join(ROOT, 'dist', 'main.js')); i++)
      await new Promise((r) => setTimeout(r, 1000));
    return instances.startInstance(env);
  };
  const { startRedis } =
    require('../tests/support/redis-server') as typeof import('../tests/support/redis-server');
  const { startNginx } = require('../tests/support/nginx') as typeof import('../tests/support/nginx');

  const questions = readFileSync(path.join(ROOT, 'corpus', 'eval', 'ko-smalltalk.eval.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { q: string }).q);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-scale-'));
  const env = (redisUrl?: string): Record<string, string> => ({
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    GENERATOR_MODEL: 'none',
    CHAT_RATE_LIMIT_PER_MIN: '0',
    CHAT_RATE_LIMIT_IP_PER_MIN: '0',
    CHAT_INDEX_DIR: path.join(dir, 'index'),
    UPLOAD_DIR: path.join(dir, 'uploads'),
    OUTPUT_DIR: path.join(dir, 'output'),
    FACES_WORKERS: '1',
  });
  const rows: Row[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  const run = async (name: string, url: string, instances: string[]) => {
    process.stderr.write(`[scale] ${name}: ${clients} clients, ${seconds} s...\n`);
    let perInstance: number[] = [];
    const result = await load(url, clients, procs, warmupMs, seconds * 1000, questions, async () => {
      // Where the sockets landed, once they are all connected.
      perInstance = await Promise.all(instances.map(wsConnections));
    });
    rows.push({ name, instances: instances.length, result, perInstance });
  };
  try {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());

    const one = await startInstance(env(redis.url));
    cleanup.push(() => one.stop());
    await run('1 instance + Redis, direct (baseline)', one.url, [one.url]);
    const nginx1 = await startNginx([one.port], { connections: 4096 });
    cleanup.push(() => nginx1.stop());
    await run('1 instance + Redis, behind nginx', nginx1.url, [one.url]);
    await nginx1.stop();
    await one.stop();

    const memory = await startInstance(env());
    cleanup.push(() => memory.stop());
    await run('1 instance, no Redis (in memory), direct', memory.url, [memory.url]);
    await memory.stop();

    const a = await startInstance(env(redis.url));
    const b = await startInstance(env(redis.url));
    cleanup.push(
      () => a.stop(),
      () => b.stop(),
    );
    const nginx = await startNginx([a.port, b.port], { connections: 4096 });
    cleanup.push(() => nginx.stop());
    await run('2 instances + Redis, behind nginx', nginx.url, [a.url, b.url]);
    const nginxErrors = nginx
      .errors()
      .split('\n')
      .filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    if (nginxErrors.length > 0)
      process.stderr.write(`[scale] nginx logged ${nginxErrors.length} errors, e.g. ${nginxErrors[0]}\n`);

    const base = rows[0].result;
    const baseRate = base.answered / (base.elapsedMs / 1000);
    console.log(
      `\n${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(1)} at the end; ` +
        `${clients} socket.io clients (websocket only, namespace /chat) from ${procs} load processes ` +
        `(${Math.ceil(clients / procs)} sockets each, closed loop: next message when the previous is ` +
        `acknowledged), ${seconds} s per case after ${warmupMs / 1000} s of warm-up, ${GRACE_MS / 1000} s grace ` +
        `for late answers; the ${questions.length} eval questions in turn; GENERATOR_MODEL=none, rate limits off\n`,
    );
    console.log(
      '| Case | sockets per instance | messages/s | p50 ms | p99 ms | errors | lost | dropped sockets | vs baseline |',
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const { name, result: r, perInstance } of rows) {
      const lat = [...r.latencies].sort((x, y) => x - y);
      const rate = r.answered / (r.elapsedMs / 1000);
      const connected = r.connectErrors > 0 ? ` (${r.connectErrors} failed to connect)` : '';
      console.log(
        `| ${name} | ${perInstance.join(' / ')}${connected} | ${rate.toFixed(0)} | ${percentile(lat, 50).toFixed(1)} | ` +
          `${percentile(lat, 99).toFixed(1)} | ${r.errors} | ${r.lost} | ${r.dropped} | ${(rate / baseRate).toFixed(2)}× |`,
      );
    }
    const samples = rows.flatMap((r) => r.result.errorSamples);
    if (samples.length > 0) console.log(`\nError samples: ${[...new Set(samples)].join(' | ')}`);
    console.log(
      `\nmessages/s: answered messages per second of the measured window; p50/p99: acknowledgement latency; ` +
        `errors: acknowledgements with { error }; lost: messages with no acknowledgement by the end + ${GRACE_MS / 1000} s.`,
    );
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--load')) {
  loadChild();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
