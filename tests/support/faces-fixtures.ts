import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ImageDecoder } from '../../src/common/image/image-decoder';
import { AppConfig } from '../../src/config/app.config';
import { FaceBox, RawImage } from '../../src/modules/faces/face-detector';
import { REPO_ROOT, startApp, TestApp } from './app';
import { FACES_DIR } from './uploads-fixtures';

export { FACES_DIR };

/** The system Python, which has cv2 (python3-opencv); the `python3` on PATH may not. */
export const PYTHON = '/usr/bin/python3';
export const SYSTEM_CASCADE = '/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml';

/** The ten photos of ../shared/datasets/faces. */
export const PHOTOS = [
  'alex_lacamoire1.jpg',
  'biden.jpg',
  'johnsnow_test1.jpg',
  'kit_with_rose.jpg',
  'lin-manuel-miranda.png',
  'obama-480p.jpg',
  'obama.jpg',
  'obama_and_biden.jpg',
  'obama_partial_face.jpg',
  'two_people.jpg',
];

/** Why Python/OpenCV comparisons cannot run here, or null when they can. */
export function pythonOpenCvMissing(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import cv2'], { stdio: 'pipe', timeout: 30_000 });
    return null;
  } catch {
    return `${PYTHON} cannot import cv2 (apt-get install python3-opencv); the comparisons with Python OpenCV are skipped`;
  }
}

/** Runs a Python script of the repository and parses the JSON it prints. */
export async function runPythonJson<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(REPO_ROOT, script), ...args], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  return JSON.parse(stdout) as T;
}

export type Box = [number, number, number, number];

export function toTuple(b: FaceBox): Box {
  return [b.x, b.y, b.w, b.h];
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** Each reference box's best IoU among `found` (0 when nothing overlaps). */
export function bestMatches(reference: Box[], found: Box[]): number[] {
  return reference.map((r) => Math.max(0, ...found.map((f) => iou(r, f))));
}

export const decoder = new ImageDecoder({ IMAGE_MAX_PIXELS: 40_000_000 } as AppConfig);

/** Upright 8-bit sRGB pixels as the service decodes them (alpha kept when present). */
export async function decodeRaw(data: Buffer, keepAlpha = true): Promise<RawImage> {
  const { info, image } = await decoder.decode(data);
  let p = image.toColourspace('srgb');
  if (!keepAlpha) p = p.removeAlpha();
  const raw = await decoder.toRaw(p, info.format);
  return {
    data: raw.data,
    width: raw.info.width,
    height: raw.info.height,
    channels: raw.info.channels as 3 | 4,
  };
}

/**
 * Whether a box of `out` is the original's pixelation: OpenCV's INTER_NEAREST upscale from blocks×blocks
 * maps output column dx to cell floor(dx * blocks / w), so every cell must hold one colour. Returns the
 * number of cells that do not.
 */
export function nonConstantCells(img: RawImage, box: FaceBox, blocks: number): number {
  // As OpenCV computes it (resizeNN: cvFloor(dx * ifx), ifx = 1 / (dst / src)).
  const cellOf = (d: number, size: number) => Math.floor(d * (1 / (size / blocks)));
  const seen = new Map<number, string>();
  const bad = new Set<number>();
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) {
      const cell = cellOf(y, box.h) * blocks + cellOf(x, box.w);
      const i = ((box.y + y) * img.width + box.x + x) * img.channels;
      const colour = img.data.subarray(i, i + img.channels).join(',');
      const first = seen.get(cell);
      if (first === undefined) seen.set(cell, colour);
      else if (first !== colour) bad.add(cell);
    }
  }
  return bad.size;
}

/** Pixels (all channels) that differ between `a` and `b` outside every box. */
export function changedOutside(a: RawImage, b: RawImage, boxes: FaceBox[]): number {
  let changed = 0;
  const inside = (x: number, y: number) =>
    boxes.some((f) => x >= f.x && x < f.x + f.w && y >= f.y && y < f.y + f.h);
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (inside(x, y)) continue;
      const i = (y * a.width + x) * a.channels;
      for (let c = 0; c < a.channels; c++) if (a.data[i + c] !== b.data[i + c]) changed++;
    }
  }
  return changed;
}

/** The app with no Haar cascade anywhere: HAAR_CASCADE_PATH names a missing file, no models, no system search. */
export async function startAppWithoutCascade(): Promise<TestApp> {
  const emptyModels = mkdtempSync(path.join(tmpdir(), 'no-models-'));
  try {
    const t = await startApp({
      HAAR_CASCADE_PATH: path.join(emptyModels, 'nowhere', 'haarcascade_frontalface_alt.xml'),
      MODELS_DIR: emptyModels,
      FACES_CASCADE_SEARCH_SYSTEM: 'false',
    });
    return {
      ...t,
      close: async () => {
        await t.close();
        rmSync(emptyModels, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(emptyModels, { recursive: true, force: true });
    throw err;
  }
}
