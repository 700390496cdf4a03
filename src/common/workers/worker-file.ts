import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Where a worker thread's script is: the compiled `.js` beside the caller in `dist/`, or, when the
 * service runs from TypeScript sources (tests, `nest start`), the `.ts` file loaded through ts-node.
 */
export function workerFile(dir: string, name: string): { filename: string; execArgv: string[] } {
  const js = path.join(dir, `${name}.js`);
  if (existsSync(js)) return { filename: js, execArgv: [] };
  const ts = path.join(dir, `${name}.ts`);
  if (existsSync(ts)) return { filename: ts, execArgv: ['--require', 'ts-node/register/transpile-only'] };
  throw new Error(`worker script ${name} not found in ${dir}`);
}
