import { ImageDecoder } from '../../../src/common/image/image-decoder';
import { ImageEncoder } from '../../../src/common/image/image-encoder';
import { FaceDetector } from '../../../src/modules/faces/face-detector';
import { FaceDetectorModel } from '../../../src/modules/faces/face-detector.model';
import { FacesConfig } from '../../../src/modules/faces/faces.config';
import { FacesService } from '../../../src/modules/faces/faces.service';
import { MetricsService } from '../../../src/modules/metrics/metrics.service';
import { OutputStore } from '../../../src/modules/outputs/output-store';

/** A detector whose detections finish when the test says so. */
function gatedDetector() {
  const pending: (() => void)[] = [];
  const detector = {
    detect: () =>
      new Promise((resolve) =>
        pending.push(() => resolve({ faces: [{ x: 1, y: 1, w: 1, h: 1 }], detectMs: 1 })),
      ),
  } as unknown as FaceDetector;
  return { detector, pending };
}

/** ImageDecoder's port as FacesService uses it: any bytes are a 2×2 RGB PNG. */
const decoder = {
  decode: async () => ({
    info: { format: 'png' },
    image: { toColourspace: () => ({ removeAlpha: () => ({}) }) },
  }),
  toRaw: async () => ({ data: Buffer.alloc(12), info: { width: 2, height: 2, channels: 3 } }),
} as unknown as ImageDecoder;

function service(detector: FaceDetector, workers: number, queue: number): FacesService {
  const model = { handle: { get: () => detector } } as unknown as FaceDetectorModel;
  const config = {
    FACES_WORKERS: workers,
    FACES_MAX_QUEUE: queue,
    FACES_DETECT_MAX_SIDE: 1024,
  } as FacesConfig;
  const outputs = {} as OutputStore;
  return new FacesService(model, new MetricsService(), decoder, new ImageEncoder(), config, outputs);
}

const settle = () => new Promise((r) => setImmediate(r));

describe('FacesService admission (in-memory ports, no OpenCV)', () => {
  it('admits FACES_WORKERS + FACES_MAX_QUEUE images, refuses the next with 429 at once, and admits again after', async () => {
    const { detector, pending } = gatedDetector();
    const faces = service(detector, 1, 2);
    const admitted = [
      faces.detect(Buffer.from('a')),
      faces.detect(Buffer.from('b')),
      faces.detect(Buffer.from('c')),
    ];
    await settle();
    await expect(faces.detect(Buffer.from('d'))).rejects.toMatchObject({
      status: 429,
      message: expect.stringMatching(/busy \(3 images in progress\)/),
    });
    pending.splice(0).forEach((go) => go());
    await expect(Promise.all(admitted)).resolves.toHaveLength(3);
    const again = faces.detect(Buffer.from('e'));
    await settle();
    pending.splice(0).forEach((go) => go());
    await expect(again).resolves.toMatchObject({ faces: [{ x: 1, y: 1, w: 1, h: 1 }], width: 2, height: 2 });
  });

  it('frees its place when an image fails', async () => {
    const failing = {
      detect: () => Promise.reject(new Error('engine crashed')),
    } as unknown as FaceDetector;
    const faces = service(failing, 1, 0);
    await expect(faces.detect(Buffer.from('a'))).rejects.toMatchObject({ status: 500 });
    await expect(faces.detect(Buffer.from('b'))).rejects.toMatchObject({ status: 500 });
  });
});
