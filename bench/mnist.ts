/**
 * MNIST digit recognition: `POST /mnist/predict` over HTTP (autocannon) against the raw ONNX inference rate
 * of the same model measured in the same run (one image, and a batch of 64), plus the in-process cost of
 * decoding and preparing an upload, and a multipart route that only parses the upload (the HTTP floor).
 *
 *   npx ts-node --transpile-only bench/mnist.ts [seconds per HTTP case = 5]
 *
 * The server runs in a child process (this script with --serve), so the load generator does not share its
 * event loop: the real MNIST module plus `POST /bench/upload`, which receives the same multipart body and
 * answers a constant. Prints a markdown table.
 */
import { Controller, HttpCode, Module, Post, UploadedFiles, UseInterceptors } from '@nestjs/common';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import {
  Multipart,
  MULTIPART_LIMITS,
  ReceivedFile,
} from '../src/common/http/multipart/multipart.interceptor';
import { imageMultipartLimits } from '../src/common/http/multipart/multipart-limits';
import { ImageDecoder } from '../src/common/image/image-decoder';
import { appConfig } from '../src/config/app.config';
import { DigitPreprocessor } from '../src/modules/mnist/digit-preprocessor';
import { prepareGrey } from '../src/modules/mnist/digit/prepare-grey';
import { MnistClassifier, toFloat } from '../src/modules/mnist/mnist-classifier';
import { MnistModule } from '../src/modules/mnist/mnist.module';
import { HELD_OUT, mnistPng, styled, trainSet } from '../tests/support/mnist-fixtures';
import { AppConfig } from '../src/config/app.config';
import { coreModules, forkServer, serveForParent } from './support';

const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

const ROOT = path.resolve(__dirname, '..');

@Controller('bench')
class UploadController {
  @Post('upload')
  @HttpCode(200)
  @UseInterceptors(Multipart())
  upload(@UploadedFiles() files: ReceivedFile[]): { files: number } {
    return { files: files.length };
  }
}

/** The MNIST module and what it needs, without the other capabilities loading their models beside it. */
@Module({
  imports: [...coreModules(), MnistModule],
  controllers: [UploadController],
  providers: [
    {
      provide: MULTIPART_LIMITS,
      inject: [appConfig.KEY],
      useFactory: (c: AppConfig) => imageMultipartLimits(c, 32),
    },
  ],
})
class BenchModule {}

/** A multipart/form-data body with one file in field `file`, built by hand. */
function multipart(file: Buffer, name: string): { body: Buffer; contentType: string } {
  const boundary = `----mnistbench${Date.now().toString(16)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      'Content-Type: image/png\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    body: Buffer.concat([head, file, tail]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Row {
  rate: number;
  p50: number;
  p99: number;
}

async function http(url: string, route: string, file: Buffer, seconds: number): Promise<Row> {
  const { body, contentType } = multipart(file, 'digit.png');
  const opts = {
    url: `${url}${route}`,
    connections: 10,
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const r = await autocannon({ ...opts, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${route}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rate: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Calls `fn` repeatedly for `ms` (after a warm-up); rate = calls/s × items per call, latencies in ms. */
async function loop(fn: () => Promise<unknown>, items: number, ms: number): Promise<Row> {
  for (let i = 0; i < 50; i++) await fn();
  const times: number[] = [];
  const started = performance.now();
  while (performance.now() - started < ms) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { rate: (times.length * items) / elapsed, p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const set = await trainSet();
  const small = await mnistPng(set, HELD_OUT);
  const paper = await styled(set, HELD_OUT, 'paper');
  const photo = await styled(set, HELD_OUT, 'photo');

  // In-process: the model alone, then decoding + preparation alone.
  const clf = await MnistClassifier.load(path.join(ROOT, 'models', 'mnist-cnn'), 1);
  const one = [toFloat(set.image(HELD_OUT))];
  const batch = Array.from({ length: 64 }, (_, k) => toFloat(set.image(HELD_OUT + k)));
  const single = await loop(() => clf.classify(one), 1, seconds * 1000);
  const batched = await loop(() => clf.classify(batch), 64, seconds * 1000);
  await clf.release();
  const pre = new DigitPreprocessor(new ImageDecoder({ IMAGE_MAX_PIXELS: 40_000_000 } as AppConfig));
  const prepSmall = await loop(() => pre.prepare(small), 1, 2000);
  const prepPaper = await loop(() => pre.prepare(paper), 1, 2000);
  const prepPhoto = await loop(() => pre.prepare(photo), 1, 2000);
  // The preparation alone (JavaScript), on the photo already decoded to grey.
  const photoGrey = (await pre.greyscale(photo)).image;
  const prepPhotoJs = await loop(() => Promise.resolve(prepareGrey(photoGrey)), 1, 2000);

  const { child, url } = await forkServer(__filename, { LOG_LEVEL: 'silent', MNIST_THREADS: '1' });
  let floor: Row;
  let predictSmall: Row;
  let predictPaper: Row;
  let predictPhoto: Row;
  try {
    floor = await http(url, '/bench/upload', small, seconds);
    predictSmall = await http(url, '/mnist/predict', small, seconds);
    predictPaper = await http(url, '/mnist/predict', paper, seconds);
    predictPhoto = await http(url, '/mnist/predict', photo, seconds);
  } finally {
    child.kill();
  }

  const f = (n: number, d = 2) => n.toFixed(d);
  console.log(
    `\n${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(1)}; onnxruntime 1 intra-op thread; ` +
      `${seconds} s per case; HTTP: autocannon, 10 connections, after a 1 s warm-up\n`,
  );
  console.log('| Case | images/s (req/s) | p50 ms | p99 ms | vs ONNX 1 image |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const rows: [string, Row][] = [
    ['ONNX inference, 1 image per run (baseline)', single],
    ['ONNX inference, batch of 64 per run', batched],
    [`decode + prepare, 28×28 MNIST PNG (${small.length} B)`, prepSmall],
    [`decode + prepare, 200×200 dark-on-light PNG (${(paper.length / 1024).toFixed(1)} KiB)`, prepPaper],
    [`decode + prepare, 400×300 photo JPEG (${(photo.length / 1024).toFixed(1)} KiB)`, prepPhoto],
    ['prepare alone (JavaScript, already grey), 400×300 photo', prepPhotoJs],
    ['HTTP `POST /bench/upload`, 28×28 PNG (multipart parsed, constant answer)', floor],
    ['HTTP `POST /mnist/predict`, 28×28 MNIST PNG', predictSmall],
    ['HTTP `POST /mnist/predict`, 200×200 dark-on-light PNG', predictPaper],
    ['HTTP `POST /mnist/predict`, 400×300 photo JPEG', predictPhoto],
  ];
  for (const [name, r] of rows) {
    const p = (v: number) => (v < 1 ? f(v, 3) : f(v, 1));
    console.log(
      `| ${name} | ${r.rate.toFixed(0)} | ${p(r.p50)} | ${p(r.p99)} | ${f(r.rate / single.rate)}× |`,
    );
  }
  console.log(
    `\nSingle-image inference: p50 ${(single.p50 * 1000).toFixed(0)} µs, p99 ${(single.p99 * 1000).toFixed(0)} µs. ` +
      `HTTP predict of a 28×28 PNG reaches ${f(predictSmall.rate / single.rate)}× the bare single-image inference rate ` +
      `and ${f(predictSmall.rate / floor.rate)}× the multipart floor; a 400×300 photo ${f(predictPhoto.rate / floor.rate)}× the floor.`,
  );
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
