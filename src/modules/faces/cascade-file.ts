import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const CASCADE_NAME = 'haarcascade_frontalface_alt.xml';

/** Where Debian/Ubuntu (opencv-data), older packages and source builds install OpenCV's cascades. */
export const SYSTEM_CASCADE_DIRS = [
  '/usr/share/opencv4/haarcascades',
  '/usr/share/opencv/haarcascades',
  '/usr/local/share/opencv4/haarcascades',
];

export interface CascadeSearch {
  /** HAAR_CASCADE_PATH, if set. */
  explicit?: string;
  modelsDir: string;
  searchSystem: boolean;
}

/** The places looked at, in order. */
export function cascadeCandidates(s: CascadeSearch): string[] {
  const out: string[] = [];
  if (s.explicit) out.push(path.resolve(s.explicit));
  out.push(path.resolve(s.modelsDir, 'haarcascade', CASCADE_NAME));
  if (s.searchSystem) out.push(...SYSTEM_CASCADE_DIRS.map((d) => path.join(d, CASCADE_NAME)));
  return out;
}

/** The first candidate that is a file, or null. */
export function findCascade(s: CascadeSearch): string | null {
  for (const candidate of cascadeCandidates(s)) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}
