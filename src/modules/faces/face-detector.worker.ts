/**
 * Worker thread of HaarFaceDetector (piscina): OpenCV.js (WASM, single-threaded) with the Haar cascade,
 * loaded once per worker. Detection is synchronous and takes 0.1–3 s on a photo, hence the thread.
 *
 * Exactness: grey conversion uses OpenCV's fixed-point RGB→grey formula (checked against cv.cvtColor on
 * every 24-bit colour), detection and the mosaic's resizes are OpenCV's own code, so with the same
 * decoded pixels (sharp with ignoreIcc) the output equals the original Python/OpenCV service's.
 *
 * Memory: only the grey copy (1 byte per pixel) and the face regions enter the WASM heap, which grows
 * and never shrinks; the heap size is reported with each result so the pool can retire a worker whose
 * heap has grown too large.
 */
import { readFileSync } from 'node:fs';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import type { DetectOptions, FaceBox, MosaicOptions } from './face-detector';

export interface WorkerTask {
  kind: 'detect' | 'mosaic';
  /** Interleaved RGB or RGBA pixels. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
  detect: DetectOptions;
  mosaic?: MosaicOptions;
}

export interface WorkerResult {
  faces: FaceBox[];
  detectMs: number;
  /** The processed pixels (mosaic tasks). */
  data?: Uint8Array;
  /** WASM heap size after the task, bytes. */
  heapBytes: number;
  /** The size detection ran at. */
  detectWidth: number;
  detectHeight: number;
}

export interface WorkerInit {
  cascadePath: string;
}

/* The small part of OpenCV.js used here. */
interface CvMat {
  data: Uint8Array;
  rows: number;
  cols: number;
  delete(): void;
}
interface CvRect {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface CvRectVector {
  size(): number;
  get(i: number): CvRect;
  delete(): void;
}
interface CvCascade {
  load(path: string): boolean;
  empty(): boolean;
  detectMultiScale(
    image: CvMat,
    objects: CvRectVector,
    scaleFactor: number,
    minNeighbors: number,
    flags: number,
    minSize: unknown,
    maxSize: unknown,
  ): void;
}
interface Cv {
  Mat: new (rows?: number, cols?: number, type?: number) => CvMat;
  RectVector: new () => CvRectVector;
  CascadeClassifier: new () => CvCascade;
  Size: new (w: number, h: number) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  CV_8UC4: number;
  INTER_AREA: number;
  INTER_LINEAR: number;
  INTER_NEAREST: number;
  BORDER_REPLICATE: number;
  HEAP8: Int8Array;
  resize(src: CvMat, dst: CvMat, size: unknown, fx: number, fy: number, interpolation: number): void;
  GaussianBlur(src: CvMat, dst: CvMat, size: unknown, sigmaX: number, sigmaY: number, border: number): void;
  FS_createDataFile(
    dir: string,
    name: string,
    data: Uint8Array,
    read: boolean,
    write: boolean,
    own: boolean,
  ): void;
  exceptionFromPtr(ptr: number): { msg: string };
  onRuntimeInitialized?: () => void;
  then?: unknown;
}

interface Engine {
  cv: Cv;
  cascade: CvCascade;
}

const engine: Promise<Engine> = start((workerData as WorkerInit).cascadePath);
// Reported when the first task awaits it; never an unhandled rejection of its own.
engine.catch(() => undefined);

async function start(cascadePath: string): Promise<Engine> {
  const cv = await loadOpenCv();
  const xml = readFileSync(cascadePath);
  cv.FS_createDataFile('/', 'cascade.xml', new Uint8Array(xml), true, false, false);
  const cascade = new cv.CascadeClassifier();
  let loaded = false;
  try {
    loaded = cascade.load('/cascade.xml') && !cascade.empty();
  } catch (err) {
    throw new Error(`${cascadePath} is not a valid OpenCV cascade (${describe(cv, err)})`);
  }
  if (!loaded) throw new Error(`${cascadePath} is not a valid OpenCV cascade`);
  return { cv, cascade };
}

/**
 * The package exports the Emscripten module object, which is a thenable whose `then` never settles
 * under `await` once the runtime is up; wait for onRuntimeInitialized instead and drop `then`.
 */
function loadOpenCv(): Promise<Cv> {
  const cv = require('@techstark/opencv-js') as Cv;
  const ready = (): Cv => {
    delete cv.then;
    return cv;
  };
  if (typeof cv.Mat === 'function') return Promise.resolve(ready());
  return new Promise((resolve) => {
    cv.onRuntimeInitialized = () => resolve(ready());
  });
}

function describe(cv: Cv, err: unknown): string {
  if (typeof err === 'number') {
    try {
      return cv.exceptionFromPtr(err).msg.trim().split('\n').pop() ?? 'OpenCV error';
    } catch {
      return `OpenCV error ${err}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export default async function run(task: WorkerTask): Promise<WorkerResult> {
  const { cv, cascade } = await engine;
  try {
    const result = runTask(cv, cascade, task);
    // The pixels go back without a copy.
    if (!result.data) return result;
    const buffer = result.data.buffer;
    return move({ [transferableSymbol]: buffer, [valueSymbol]: result } as never) as unknown as WorkerResult;
  } catch (err) {
    // OpenCV throws pointers to C++ exceptions; give the pool a real Error.
    throw new Error(describe(cv, err));
  }
}

function runTask(cv: Cv, cascade: CvCascade, task: WorkerTask): WorkerResult {
  const { width, height, channels } = task;
  const data = task.data;
  if (data.length !== width * height * channels) throw new Error('pixel buffer does not match its size');
  const started = performance.now();
  const detected = detect(cv, cascade, data, width, height, channels, task.detect);
  const detectMs = performance.now() - started;
  if (task.kind === 'mosaic' && task.mosaic) {
    for (const face of detected.faces) anonymise(cv, data, width, channels, face, task.mosaic);
  }
  const result: WorkerResult = {
    faces: detected.faces,
    detectMs,
    heapBytes: cv.HEAP8.buffer.byteLength,
    detectWidth: detected.width,
    detectHeight: detected.height,
  };
  if (task.kind === 'mosaic') result.data = data;
  return result;
}

/** OpenCV's RGB→grey (imgproc color_rgb: 15-bit fixed point, rounded); alpha is ignored, as imread does. */
export function toGrey(data: Uint8Array, pixels: number, channels: number, out: Uint8Array): void {
  for (let i = 0, j = 0; i < pixels; i++, j += channels) {
    out[i] = (data[j] * 9798 + data[j + 1] * 19235 + data[j + 2] * 3735 + 16384) >> 15;
  }
}

function detect(
  cv: Cv,
  cascade: CvCascade,
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  o: DetectOptions,
): { faces: FaceBox[]; width: number; height: number } {
  const grey = new cv.Mat(height, width, cv.CV_8UC1);
  let small: CvMat | null = null;
  const rects = new cv.RectVector();
  try {
    toGrey(data, width * height, channels, grey.data);
    const longest = Math.max(width, height);
    const scale = o.maxSide > 0 && longest > o.maxSide ? o.maxSide / longest : 1;
    let target = grey;
    if (scale < 1) {
      small = new cv.Mat();
      const size = new cv.Size(
        Math.max(1, Math.round(width * scale)),
        Math.max(1, Math.round(height * scale)),
      );
      cv.resize(grey, small, size, 0, 0, cv.INTER_AREA);
      target = small;
    }
    const sx = width / target.cols;
    const sy = height / target.rows;
    const minSide = Math.max(1, Math.round(o.minSize / Math.max(sx, sy)));
    cascade.detectMultiScale(
      target,
      rects,
      o.scaleFactor,
      o.minNeighbors,
      0,
      new cv.Size(minSide, minSide),
      new cv.Size(0, 0),
    );
    const faces: FaceBox[] = [];
    for (let i = 0; i < rects.size(); i++) {
      const r = rects.get(i);
      faces.push(clampBox(r.x * sx, r.y * sy, r.width * sx, r.height * sy, width, height));
    }
    return { faces, width: target.cols, height: target.rows };
  } finally {
    grey.delete();
    small?.delete();
    rects.delete();
  }
}

function clampBox(x: number, y: number, w: number, h: number, width: number, height: number): FaceBox {
  const x0 = Math.min(width - 1, Math.max(0, Math.round(x)));
  const y0 = Math.min(height - 1, Math.max(0, Math.round(y)));
  const x1 = Math.min(width, Math.max(x0 + 1, Math.round(x + w)));
  const y1 = Math.min(height, Math.max(y0 + 1, Math.round(y + h)));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * As the original: `small = resize(face, (blocks, blocks), INTER_LINEAR)`, then
 * `face[:] = resize(small, (w, h), INTER_NEAREST)`, in place; or a Gaussian blur of the region.
 * Faces are processed in detection order, so overlapping boxes end as in the original.
 */
function anonymise(
  cv: Cv,
  data: Uint8Array,
  width: number,
  channels: number,
  box: FaceBox,
  o: MosaicOptions,
): void {
  const type = channels === 4 ? cv.CV_8UC4 : cv.CV_8UC3;
  const face = new cv.Mat(box.h, box.w, type);
  const work = new cv.Mat();
  const out = new cv.Mat();
  try {
    const row = box.w * channels;
    const fd = face.data;
    for (let y = 0; y < box.h; y++) {
      const start = ((box.y + y) * width + box.x) * channels;
      fd.set(data.subarray(start, start + row), y * row);
    }
    if (o.method === 'blur') {
      const sigma = Math.max(box.w, box.h) / o.blocks;
      cv.GaussianBlur(face, out, new cv.Size(0, 0), sigma, sigma, cv.BORDER_REPLICATE);
    } else {
      cv.resize(face, work, new cv.Size(o.blocks, o.blocks), 0, 0, cv.INTER_LINEAR);
      cv.resize(work, out, new cv.Size(box.w, box.h), 0, 0, cv.INTER_NEAREST);
    }
    const od = out.data;
    for (let y = 0; y < box.h; y++) {
      const start = ((box.y + y) * width + box.x) * channels;
      data.set(od.subarray(y * row, (y + 1) * row), start);
    }
  } finally {
    face.delete();
    work.delete();
    out.delete();
  }
}
