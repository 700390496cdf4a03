/**
 * Face detection and mosaic: the Node service against the original Python/OpenCV code, same images, same run.
 *
 *   npx ts-node --transpile-only bench/faces.ts            (BENCH_REPEAT=3 by default)
 *
 * The ten photos of ../shared/datasets/faces are resized (cover, attention crop) to 640×480 and 1920×1080
 * JPEGs. For each size it measures, in ms per image (median over repetitions, mean over images):
 *   - detection alone: Python `detectMultiScale` (native OpenCV 4.6, its default threads) against both
 *     engines of the service, native OpenCV (our addon, same library and threads) and OpenCV.js in one
 *     worker thread, at full resolution and on the 1024-px copy (FACES_DETECT_MAX_SIDE);
 *   - the whole mosaic: Python imread + detect + pixelate + imwrite PNG (bench/original_mosaic.py) against
 *     `POST /mosaic?format=png` over HTTP on a running app (multipart upload, decode, detect, pixelate,
 *     PNG encode, response), FACES_WORKERS=1.
 * Prints a markdown table; ratio = Node time / Python time (below 1: faster than the original).
 * A second table justifies FACES_DETECT_MAX_SIDE: on the ten photos at their own size (0.3–2.9 MP),
 * detection time and agreement with full-resolution detection for several longest sides.
 */
import { Module } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { DetectOptions, FaceDetector, RawImage } from '../src/modules/faces/face-detector';
import { FacesModule } from '../src/modules/faces/faces.module';
import { HaarFaceDetector } from '../src/modules/faces/haar-face-detector';
import { loadNativeAddon, NativeHaarFaceDetector } from '../src/modules/faces/native-haar-face-detector';
import { UploadsModule } from '../src/modules/uploads/uploads.module';
import { coreModules, listen } from './support';

const ROOT = path.resolve(__dirname, '..');
const PHOTOS_DIR = path.resolve(ROOT, '..', 'shared', 'datasets', 'faces');
const PYTHON = '/usr/bin/python3';
const CASCADE = '/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml';
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const SIZES: [number, number][] = [
  [640, 480],
  [1920, 1080],
];
const ORIGINAL: DetectOptions = { scaleFactor: 1.1, minNeighbors: 3, minSize: 30, maxSide: 0 };

/** Only what the face routes need (no chat or MNIST models loading beside the measurement). */
@Module({
  imports: [...coreModules(), UploadsModule, FacesModule],
})
class FacesBenchModule {}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function prepare(dir: string, [w, h]: [number, number]): Promise<string[]> {
  const files: string[] = [];
  for (const name of readFileNames()) {
    const out = path.join(dir, `${path.parse(name).name}-${w}x${h}.jpg`);
    await sharp(path.join(PHOTOS_DIR, name))
      .rotate()
      .resize(w, h, { fit: 'cover', position: sharp.strategy.attention })
      .jpeg({ quality: 95 })
      .toFile(out);
    files.push(out);
  }
  return files;
}

function readFileNames(): string[] {
  return require('node:fs')
    .readdirSync(PHOTOS_DIR)
    .filter((f: string) => /\.(jpe?g|png)$/i.test(f))
    .sort();
}

interface PythonRun {
  opencv: string;
  threads: number;
  images: Record<string, { faces: number[][]; detect_ms: number[]; total_ms: number[] }>;
}

function python(files: string[], out: string): PythonRun {
  const stdout = execFileSync(
    PYTHON,
    [path.join(ROOT, 'bench', 'original_mosaic.py'), '--repeat', String(REPEAT), '--out', out, ...files],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout.toString()) as PythonRun;
}

async function decodeAll(files: string[]): Promise<RawImage[]> {
  return Promise.all(
    files.map(async (f) => {
      const { data, info } = await sharp(readFileSync(f), { ignoreIcc: true })
        .rotate()
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height, channels: 3 as const };
    }),
  );
}

/** ms per image (median over repetitions, mean over images) of detection in the worker. */
async function nodeDetect(detector: FaceDetector, images: RawImage[], maxSide: number) {
  const perImage: number[][] = images.map(() => []);
  const faces: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    for (const [i, img] of images.entries()) {
      const res = await detector.detect(img, { ...ORIGINAL, maxSide });
      perImage[i].push(res.detectMs);
      if (r === 0) faces.push(res.faces.length);
    }
  }
  return { ms: mean(perImage.map(median)), faces: faces.reduce((a, b) => a + b, 0) };
}

type Box = number[];
function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  return (w * h) / (a[2] * a[3] + b[2] * b[3] - w * h);
}

/** Detection time and agreement with full resolution, per FACES_DETECT_MAX_SIDE, on the original photos. */
async function maxSideTable(detector: FaceDetector): Promise<string> {
  const files = readFileNames().map((f) => path.join(PHOTOS_DIR, f));
  const images = await decodeAll(files);
  const run = async (maxSide: number) => {
    const boxes: Box[][] = [];
    const ms: number[][] = images.map(() => []);
    for (let r = 0; r < REPEAT; r++) {
      for (const [i, img] of images.entries()) {
        const res = await detector.detect(img, { ...ORIGINAL, maxSide });
        ms[i].push(res.detectMs);
        if (r === 0) boxes.push(res.faces.map((f) => [f.x, f.y, f.w, f.h]));
      }
    }
    return { boxes, ms: mean(ms.map(median)) };
  };
  const full = await run(0);
  const total = full.boxes.reduce((a, b) => a + b.length, 0);
  const lines = [
    '| FACES_DETECT_MAX_SIDE | detection ms/image | ratio to full | faces kept (IoU ≥ 0.5) | extra | mean IoU | min IoU |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: |',
    `| 0 (full resolution) | ${full.ms.toFixed(0)} | 1.00 | ${total}/${total} | 0 | 1.000 | 1.000 |`,
  ];
  for (const side of [1280, 1024, 800, 640]) {
    const r = await run(side);
    const ious: number[] = [];
    let extra = 0;
    r.boxes.forEach((found, i) => {
      for (const ref of full.boxes[i]) {
        const best = Math.max(0, ...found.map((f) => iou(ref, f)));
        if (best >= 0.5) ious.push(best);
      }
      extra += found.filter((f) => Math.max(0, ...full.boxes[i].map((ref) => iou(ref, f))) < 0.5).length;
    });
    lines.push(
      `| ${side} | ${r.ms.toFixed(0)} | ${(r.ms / full.ms).toFixed(2)} | ${ious.length}/${total} | ${extra} | ` +
        `${mean(ious).toFixed(3)} | ${Math.min(...ious).toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

async function startBenchApp(
  env: Record<string, string>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'faces-bench-app-'));
  const saved = { ...process.env };
  Object.assign(process.env, {
    LOG_LEVEL: 'silent',
    UPLOAD_DIR: path.join(dataDir, 'uploads'),
    OUTPUT_DIR: path.join(dataDir, 'output'),
    HAAR_CASCADE_PATH: CASCADE,
    FACES_WORKERS: '1',
    ...env,
  });
  try {
    const { app, url } = await listen(FacesBenchModule);
    return {
      url,
      close: async () => {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } finally {
    process.env = saved;
  }
}

/** ms per image of a whole `POST /mosaic?format=png` as a client sees it. */
async function nodeMosaic(url: string, files: string[]): Promise<number> {
  const perImage: number[][] = files.map(() => []);
  const bodies = files.map((f) => readFileSync(f));
  // One warm-up request (first-call costs are not what is measured).
  await request(url).post('/mosaic?format=png').attach('file', bodies[0], 'warm.jpg').expect(200);
  for (let r = 0; r < REPEAT; r++) {
    for (const [i, body] of bodies.entries()) {
      const t0 = performance.now();
      await request(url).post('/mosaic?format=png').attach('file', body, path.basename(files[i])).expect(200);
      perImage[i].push(performance.now() - t0);
    }
  }
  return mean(perImage.map(median));
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'faces-bench-'));
  const rows: string[] = [];
  const notes: string[] = [];
  let sideTable = '';
  try {
    const addon = loadNativeAddon();
    if (addon instanceof Error) throw addon;
    const detectors: Record<'native' | 'wasm', FaceDetector> = {
      native: await NativeHaarFaceDetector.start(addon, { cascadePath: CASCADE, workers: 1 }),
      wasm: await HaarFaceDetector.start({
        cascadePath: CASCADE,
        workers: 1,
        idleMs: 60_000,
        maxHeapBytes: 2048 * 1024 * 1024,
      }),
    };
    const apps = {
      native: await startBenchApp({ FACES_ENGINE: 'native', FACES_DETECT_MAX_SIDE: '1024' }),
      nativeFull: await startBenchApp({ FACES_ENGINE: 'native', FACES_DETECT_MAX_SIDE: '0' }),
      wasm: await startBenchApp({ FACES_ENGINE: 'wasm', FACES_DETECT_MAX_SIDE: '1024' }),
    };
    let pyInfo = '';
    try {
      sideTable = await maxSideTable(detectors.native);
      for (const size of SIZES) {
        const label = `${size[0]}×${size[1]}`;
        const files = await prepare(work, size);
        const py = python(files, path.join(work, `out-${size[0]}`));
        pyInfo = `Python OpenCV ${py.opencv}, ${py.threads} threads`;
        const pyDetect = mean(Object.values(py.images).map((r) => median(r.detect_ms)));
        const pyTotal = mean(Object.values(py.images).map((r) => median(r.total_ms)));
        const pyFaces = Object.values(py.images).reduce((a, r) => a + r.faces.length, 0);
        const images = await decodeAll(files);
        const row = (what: string, engine: string, base: number, node: number, faces: string) =>
          rows.push(
            `| ${label} | ${what} | ${engine} | ${base.toFixed(0)} | ${node.toFixed(0)} | ${(node / base).toFixed(2)} | ${faces} |`,
          );
        for (const [what, maxSide] of [
          ['detection, full resolution', 0],
          ['detection, longest side 1024 (default)', 1024],
        ] as const) {
          for (const engine of ['native', 'wasm'] as const) {
            const r = await nodeDetect(detectors[engine], images, maxSide);
            row(what, engine, pyDetect, r.ms, `${pyFaces} / ${r.faces}`);
          }
        }
        row(
          'whole mosaic, full-resolution detection',
          'native',
          pyTotal,
          await nodeMosaic(apps.nativeFull.url, files),
          '',
        );
        row('whole mosaic, default (1024)', 'native', pyTotal, await nodeMosaic(apps.native.url, files), '');
        row('whole mosaic, default (1024)', 'wasm', pyTotal, await nodeMosaic(apps.wasm.url, files), '');
      }
    } finally {
      for (const d of Object.values(detectors)) await d.close();
      for (const a of Object.values(apps)) await a.close();
    }
    notes.push(
      `${pyInfo}; Node ${process.version}, native: OpenCV ${addon.opencvVersion} (${addon.threads()} threads), wasm: OpenCV.js 4.12 in 1 worker thread; ${cpus().length} CPU cores ` +
        `(${cpus()[0]?.model ?? 'unknown'}), ${REPEAT} repetitions, 10 photos per size.`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const table = [
    '| size | what | engine | original Python (ms/image) | Node (ms/image) | ratio Node/Python | faces found (Python / Node) |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
  const text = `${table}\n\n${sideTable}\n\n${notes.join('\n')}\n`;
  process.stdout.write(text);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, text);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
