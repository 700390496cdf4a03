import sharp from 'sharp';
import { io, Socket } from 'socket.io-client';
import { PHOTOS } from './faces-fixtures';
import { facePhoto, multipart } from './uploads-fixtures';

export interface JobImage {
  name: string;
  data: Buffer;
  /** False for the images made without any face. */
  face: boolean;
}

/**
 * `count` distinct JPEGs: the photos of ../shared/datasets/faces resized to `width` (then mirrored, then
 * cropped to their upper three quarters for more), and `noFace` smooth colour gradients with no face.
 */
export async function jobImages(count = 20, noFace = 4, width = 480): Promise<JobImage[]> {
  const out: JobImage[] = [];
  const faces = count - noFace;
  for (let i = 0; i < faces; i++) {
    const name = PHOTOS[i % PHOTOS.length];
    const round = Math.floor(i / PHOTOS.length);
    let image = sharp(facePhoto(name)).resize({ width });
    if (round % 2 === 1) image = image.flop();
    if (round >= 2) {
      const resized = await image.toBuffer({ resolveWithObject: true });
      image = sharp(resized.data).extract({
        left: 0,
        top: 0,
        width: resized.info.width,
        height: Math.round(resized.info.height * 0.75),
      });
    }
    const data = await image.jpeg({ quality: 88 }).toBuffer();
    out.push({ name: `${round}-${name.replace(/\.\w+$/, '')}.jpg`, data, face: true });
  }
  for (let i = 0; i < noFace; i++) {
    const w = width;
    const h = Math.round(width * 0.75);
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        raw[p] = (x * 255) / w;
        raw[p + 1] = (y * 255) / h;
        raw[p + 2] = (i * 60) % 256;
      }
    const data = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 88 })
      .toBuffer();
    out.push({ name: `gradient-${i}.jpg`, data, face: false });
  }
  return out;
}

/** Uploads every image through `POST /upload` of `url`; resolves with the upload ids, in order. */
export async function uploadAll(url: string, images: JobImage[]): Promise<string[]> {
  const ids: string[] = [];
  for (const image of images) {
    const { body, contentType } = multipart(image.data, image.name);
    const res = await fetch(`${url}/upload`, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body,
    });
    const json = (await res.json()) as { id: string; duplicate: boolean };
    if (res.status !== 200 || json.duplicate) throw new Error(`upload of ${image.name}: ${res.status}`);
    ids.push(json.id);
  }
  return ids;
}

/** A socket.io client connected to the `/jobs` namespace of `url`. */
export async function jobsSocket(url: string): Promise<Socket> {
  const socket = io(`${url}/jobs`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emits `event` with `payload` and resolves with the acknowledgement. */
export function ask<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  payload: unknown,
): Promise<T> {
  return socket.timeout(10_000).emitWithAck(event, payload) as Promise<T>;
}

export interface Followed {
  /** `at`: when it arrived (Date.now()). */
  progress: { jobId: string; done: number; total: number; file: string; at: number }[];
  finished: Promise<{ event: 'completed' | 'failed'; job: Record<string, unknown> }>;
}

/** Collects a job's `progress` events on `socket` until its `completed` or `failed` event. */
export function follow(socket: Socket, jobId: string): Followed {
  const progress: Followed['progress'] = [];
  socket.on('progress', (p: Followed['progress'][number]) => {
    if (p.jobId === jobId) progress.push({ ...p, at: Date.now() });
  });
  const finished = new Promise<{ event: 'completed' | 'failed'; job: Record<string, unknown> }>((resolve) => {
    for (const event of ['completed', 'failed'] as const) {
      socket.on(event, (job: Record<string, unknown>) => {
        if (job.jobId === jobId) resolve({ event, job });
      });
    }
  });
  return { progress, finished };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
