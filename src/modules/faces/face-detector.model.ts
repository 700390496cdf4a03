import { Inject, Injectable, Logger } from '@nestjs/common';
import * as path from 'node:path';
import { AppConfig, appConfig } from '../../config/app.config';
import { ModelHandle, ModelMissingError, ModelRegistry } from '../models/model-registry';
import { CASCADE_NAME, cascadeCandidates, findCascade } from './cascade-file';
import { FaceDetector } from './face-detector';
import { FacesConfig, facesConfig } from './faces.config';
import { HaarFaceDetector } from './haar-face-detector';
import { loadNativeAddon, NativeHaarFaceDetector } from './native-haar-face-detector';

export const FACE_MODEL = 'haar-frontalface-alt';

export const CASCADE_HINT =
  'install Debian\'s opencv-data package (apt-get install opencv-data), run "npm run models:pull", ' +
  `or set HAAR_CASCADE_PATH to a copy of ${CASCADE_NAME}.`;

/**
 * The face detector as a registered model: finds the cascade (HAAR_CASCADE_PATH, MODELS_DIR/haarcascade/, the
 * system's OpenCV data) and picks the engine (FACES_ENGINE: the native addon when built, else OpenCV.js
 * workers). Callers take `handle.get()`, which answers 503 while it is loading or missing.
 */
@Injectable()
export class FaceDetectorModel {
  private readonly logger = new Logger(FaceDetectorModel.name);
  readonly handle: ModelHandle<FaceDetector>;
  private cascadePath: string | null;

  constructor(
    registry: ModelRegistry,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    @Inject(facesConfig.KEY) private readonly config: FacesConfig,
  ) {
    this.cascadePath = findCascade(this.search());
    const cascade = () => this.cascadePath ?? undefined;
    this.handle = registry.register<FaceDetector>({
      name: FACE_MODEL,
      task: 'face-detection',
      get location() {
        return cascade();
      },
      required: false,
      hint: CASCADE_HINT,
      load: () => this.load(),
      describe: (d) => ({
        ...d.describe(),
        detectMaxSide: this.config.FACES_DETECT_MAX_SIDE,
        maxQueue: this.config.FACES_MAX_QUEUE,
      }),
      dispose: (d) => d.close(),
    });
  }

  private search() {
    return {
      explicit: this.config.HAAR_CASCADE_PATH,
      modelsDir: this.app.MODELS_DIR,
      searchSystem: this.config.FACES_CASCADE_SEARCH_SYSTEM,
    };
  }

  private async load(): Promise<FaceDetector> {
    const search = this.search();
    this.cascadePath = findCascade(search);
    if (!this.cascadePath) {
      throw new ModelMissingError(
        `${CASCADE_NAME} not found (looked in ${cascadeCandidates(search).join(', ')})`,
      );
    }
    if (search.explicit && path.resolve(search.explicit) !== this.cascadePath) {
      this.logger.warn(`HAAR_CASCADE_PATH ${search.explicit} does not exist; using ${this.cascadePath}`);
    }
    const engine = this.config.FACES_ENGINE;
    if (engine !== 'wasm') {
      const addon = loadNativeAddon();
      if (!(addon instanceof Error))
        return NativeHaarFaceDetector.start(addon, {
          cascadePath: this.cascadePath,
          workers: this.config.FACES_WORKERS,
        });
      if (engine === 'native') throw addon;
      this.logger.log(`${addon.message}; using OpenCV.js (FACES_ENGINE=auto)`);
    }
    return HaarFaceDetector.start({
      cascadePath: this.cascadePath,
      workers: this.config.FACES_WORKERS,
      idleMs: this.config.FACES_WORKER_IDLE_MS,
      maxHeapBytes: this.config.FACES_WORKER_MAX_HEAP_MB * 1024 * 1024,
    });
  }
}
