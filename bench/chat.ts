/**
 * Chat throughput and latency: `POST /chat` (autocannon) and socket.io `message` (many clients), each against
 * a bare route / event returning a constant in the same server, same run.
 *
 *   npx ts-node --transpile-only bench/chat.ts [seconds per case = 5] [socket.io clients = 50]
 *
 * The server runs in a child process (this script with --serve), so the load generator does not share its
 * event loop. The server is the real chat module (FAISS index, normaliser, sessions, rate limiter disabled)
 * plus a tiny bench module with `POST /bench/constant` and a `/bench` namespace whose `ping` answers a
 * constant. Chat environment variables pass through (e.g. CHAT_CORPUS_FILES to bench with ChatbotData, or
 * CHAT_RETRIEVAL_CACHE=0 to embed and search every message, repeated or not).
 * Prints a markdown table; "vs baseline" = chat req/s ÷ constant req/s.
 */
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';
import { ChatModule } from '../src/modules/chat/chat.module';
import { coreModules, forkServer, serveForParent } from './support';

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

const ROOT = path.resolve(__dirname, '..');
const CONSTANT = { reply: '안녕하세요! 찾아주셔서 감사합니다.', source: 'retrieval' };

@Controller('bench')
class ConstantController {
  @Post('constant')
  @HttpCode(200)
  constant(@Body() _body: unknown): typeof CONSTANT {
    return CONSTANT;
  }
}

@WebSocketGateway({ namespace: '/bench' })
class ConstantGateway {
  @SubscribeMessage('ping')
  ping(@MessageBody() _body: unknown): typeof CONSTANT {
    return CONSTANT;
  }
}

/** The chat module and what it needs, without the other capabilities loading their models beside it. */
@Module({
  imports: [...coreModules(), ChatModule],
  controllers: [ConstantController],
  providers: [ConstantGateway],
})
class BenchModule {}

/**
 * `bodies` in turn (each connection goes through them from the first), or with `unique` each request's
 * message made new (a counter shared by the connections, appended in invisible characters), so that no message
 * text is ever repeated.
 */
async function http(
  url: string,
  route: string,
  bodies: string[],
  seconds: number,
  unique = false,
): Promise<Row> {
  // The questions are parsed once; a request only adds its counter, so the load generator's work stays small.
  const messages = bodies.map((b) => (JSON.parse(b) as { message: string }).message);
  let n = 0;
  const fresh = (req: object) => {
    const k = n++;
    // k in 17 invisible characters (ZWSP for 0, ZWNJ for 1): the normaliser drops them, so the embedder
    // sees the eval question itself (same answers), while the text, the cache's key, is new each time.
    const bits = [...k.toString(2).padStart(17, '0')].map((b) => (b === '0' ? '\u200b' : '\u200c'));
    return { ...req, body: JSON.stringify({ message: `${messages[k % messages.length]}${bits.join('')}` }) };
  };
  const opts = {
    url: `${url}${route}`,
    connections: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: unique
      ? [{ method: 'POST', setupRequest: fresh }]
      : bodies.map((body) => ({ method: 'POST', body })),
  };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const r = await autocannon({ ...opts, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${route}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

interface Row {
  rps: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `clients` sockets, each sending its next message as soon as the previous one is acknowledged. */
async function sockets(
  url: string,
  ns: string,
  event: string,
  payloads: unknown[],
  clients: number,
  seconds: number,
): Promise<Row> {
  const conns: Socket[] = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = io(`${url}${ns}`, { transports: ['websocket'], forceNew: true, reconnection: false });
          s.once('connect', () => resolve(s));
          s.once('connect_error', reject);
        }),
    ),
  );
  const run = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    const until = performance.now() + ms;
    let n = 0;
    await Promise.all(
      conns.map(async (s, c) => {
        while (performance.now() < until) {
          const started = performance.now();
          const ack = (await s.timeout(10_000).emitWithAck(event, payloads[(n++ + c) % payloads.length])) as {
            error?: unknown;
          };
          if (ack?.error) throw new Error(`${ns} ${event}: ${JSON.stringify(ack.error)}`);
          if (record) latencies.push(performance.now() - started);
        }
      }),
    );
    return latencies;
  };
  await run(1000, false);
  const started = performance.now();
  const latencies = await run(seconds * 1000, true);
  const elapsed = (performance.now() - started) / 1000;
  for (const s of conns) s.disconnect();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const clients = Number(process.argv[3] ?? 50);
  const indexDir = mkdtempSync(path.join(tmpdir(), 'bench-chat-'));
  const { child, url } = await forkServer(__filename, {
    LOG_LEVEL: 'silent',
    CORPUS_DIR: process.env.CORPUS_DIR ?? path.join(ROOT, 'corpus'),
    CHAT_INDEX_DIR: indexDir,
    CHAT_RATE_LIMIT_PER_MIN: '0',
    CHAT_RATE_LIMIT_IP_PER_MIN: '0',
  });
  try {
    const evalQuestions = readFileSync(path.join(ROOT, 'corpus', 'eval', 'ko-smalltalk.eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { q: string }).q);
    const rows: [string, Row, Row][] = [];
    const hello = [JSON.stringify({ message: '안녕하세요' })];
    const constant = await http(url, '/bench/constant', hello, seconds);
    rows.push(['HTTP `POST /chat` "안녕하세요"', await http(url, '/chat', hello, seconds), constant]);
    const varied = evalQuestions.map((q) => JSON.stringify({ message: q }));
    rows.push([
      `HTTP \`POST /chat\`, the ${varied.length} eval questions in turn`,
      await http(url, '/chat', varied, seconds),
      constant,
    ]);
    // The cases above repeat their messages, which CHAT_RETRIEVAL_CACHE remembers; here none repeats.
    rows.push([
      `HTTP \`POST /chat\`, the eval questions, no text twice (a counter in invisible characters: no cache hit)`,
      await http(url, '/chat', varied, seconds, true),
      constant,
    ]);
    const ping = await sockets(url, '/bench', 'ping', [{ text: '안녕하세요' }], clients, seconds);
    rows.push([
      `socket.io \`message\`, ${clients} clients, eval questions`,
      await sockets(
        url,
        '/chat',
        'message',
        evalQuestions.map((text) => ({ text })),
        clients,
        seconds,
      ),
      ping,
    ]);

    const files = process.env.CHAT_CORPUS_FILES ?? 'ko-smalltalk.jsonl';
    console.log(
      `\n${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(1)}; corpus ${files}, ` +
        `embedder ${process.env.CHAT_EMBEDDER ?? 'transformer (the default)'}, index ${process.env.CHAT_INDEX ?? 'flat'}; ${seconds} s per case after a 1 s warm-up\n`,
    );
    console.log('| Case | req/s | p50 ms | p99 ms | baseline req/s | baseline p50 / p99 ms | vs baseline |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, r, b] of rows) {
      console.log(
        `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${b.rps.toFixed(0)} | ` +
          `${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} | ${(r.rps / b.rps).toFixed(2)}× |`,
      );
    }
    console.log(
      '\nBaselines: HTTP `POST /bench/constant` (autocannon, 10 connections); socket.io `ping` on `/bench` answering a constant, same clients.',
    );
  } finally {
    child.kill();
    rmSync(indexDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  serveForParent(BenchModule).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
