import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { CASCADE_NAME, cascadeCandidates, findCascade } from '../../../src/modules/faces/cascade-file';
import { facesConfig, FacesEnv } from '../../../src/modules/faces/faces.config';
import { loadEnv } from '../../../src/config/env';

describe('cascade file lookup', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cascade-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('looks at HAAR_CASCADE_PATH, then MODELS_DIR/haarcascade, then the system folders', () => {
    expect(cascadeCandidates({ explicit: '/x/c.xml', modelsDir: dir, searchSystem: true })).toEqual([
      '/x/c.xml',
      path.join(dir, 'haarcascade', CASCADE_NAME),
      `/usr/share/opencv4/haarcascades/${CASCADE_NAME}`,
      `/usr/share/opencv/haarcascades/${CASCADE_NAME}`,
      `/usr/local/share/opencv4/haarcascades/${CASCADE_NAME}`,
    ]);
    expect(cascadeCandidates({ modelsDir: dir, searchSystem: false })).toEqual([
      path.join(dir, 'haarcascade', CASCADE_NAME),
    ]);
  });

  it('takes the first that exists, and finds nothing when none does', () => {
    const inModels = path.join(dir, 'haarcascade', CASCADE_NAME);
    expect(
      findCascade({ explicit: path.join(dir, 'missing.xml'), modelsDir: dir, searchSystem: false }),
    ).toBeNull();
    mkdirSync(path.dirname(inModels));
    writeFileSync(inModels, '<opencv_storage/>');
    expect(
      findCascade({ explicit: path.join(dir, 'missing.xml'), modelsDir: dir, searchSystem: false }),
    ).toBe(inModels);
    const explicit = path.join(dir, 'mine.xml');
    writeFileSync(explicit, '<opencv_storage/>');
    expect(findCascade({ explicit, modelsDir: dir, searchSystem: false })).toBe(explicit);
    // A folder is not a cascade file.
    expect(findCascade({ explicit: dir, modelsDir: path.join(dir, 'none'), searchSystem: false })).toBeNull();
  });
});

describe('faces configuration', () => {
  it('has the documented defaults', () => {
    expect({ ...loadEnv(FacesEnv, {}) }).toEqual({
      FACES_ENGINE: 'auto',
      FACES_WORKERS: Math.min(4, Math.max(1, availableParallelism() - 1)), // one core left to the rest
      FACES_MAX_QUEUE: 8,
      FACES_DETECT_MAX_SIDE: 1024,
      FACES_WORKER_IDLE_MS: 30_000,
      FACES_WORKER_MAX_HEAP_MB: 256,
      FACES_CASCADE_SEARCH_SYSTEM: true,
      MOSAIC_SYNC_MAX_FILES: 50,
    });
    expect(facesConfig.KEY).toBe('CONFIGURATION(faces)');
  });

  it('accepts 0 (full resolution) for FACES_DETECT_MAX_SIDE and refuses nonsense by name', () => {
    expect(
      loadEnv(FacesEnv, { FACES_DETECT_MAX_SIDE: '0', FACES_CASCADE_SEARCH_SYSTEM: 'no' }),
    ).toMatchObject({
      FACES_DETECT_MAX_SIDE: 0,
      FACES_CASCADE_SEARCH_SYSTEM: false,
    });
    expect(() => loadEnv(FacesEnv, { FACES_DETECT_MAX_SIDE: '10' })).toThrow(
      /FACES_DETECT_MAX_SIDE \(got "10"\)/,
    );
    expect(() => loadEnv(FacesEnv, { FACES_WORKERS: '0' })).toThrow(/FACES_WORKERS/);
    expect(loadEnv(FacesEnv, { FACES_ENGINE: 'wasm' }).FACES_ENGINE).toBe('wasm');
    expect(() => loadEnv(FacesEnv, { FACES_ENGINE: 'gpu' })).toThrow(/FACES_ENGINE \(got "gpu"\)/);
    expect(() => loadEnv(FacesEnv, { FACES_CASCADE_SEARCH_SYSTEM: 'maybe' })).toThrow(
      /FACES_CASCADE_SEARCH_SYSTEM/,
    );
  });
});
