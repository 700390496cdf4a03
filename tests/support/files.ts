import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { SPARE_FILE } from '../../src/common/fs/spare-files';

/**
 * Every file under `dir`, recursively, relative to it (hidden files included), but the upload store's empty
 * spares (SpareFiles): a spare with bytes in it is listed, as the partial file it would be.
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const stat = statSync(p);
      if (stat.isDirectory()) walk(p);
      else if (!(SPARE_FILE.test(name) && stat.size === 0)) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
