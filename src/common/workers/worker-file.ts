import { existsSync } from 'node:fs';
import * as path from 'node:path';

export interface WorkerScript {
  /** Script for piscina's `filename`. */
  filename: string;
  /** Merge into piscina's `workerData` (names the TypeScript file when running from sources). */
  workerData: { tsWorker?: string };
}

/**
 * Where a worker thread's script is: the compiled `.js` beside the caller in `dist/`, or, when the
 * service runs from TypeScript sources (tests, `nest start`), the `.ts` file loaded through a small
 * ts-node shim (worker threads cannot load .ts files themselves).
 */
export function workerFile(dir: string, name: string): WorkerScript {
  const js = path.join(dir, `${name}.js`);
  if (existsSync(js)) return { filename: js, workerData: {} };
  const ts = path.join(dir, `${name}.ts`);
  if (existsSync(ts))
    return { filename: path.join(__dirname, 'ts-worker-shim.js'), workerData: { tsWorker: ts } };
  throw new Error(`worker script ${name} not found in ${dir}`);
}
