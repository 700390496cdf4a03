// Loads @huggingface/transformers from this repo's node_modules if present, otherwise from the
// current working directory (e.g. a scratch project: `cd /tmp/gptcheck && node <script>`).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export async function loadTransformers() {
  try {
    return await import('@huggingface/transformers');
  } catch (err) {
    const req = createRequire(path.join(process.cwd(), 'noop.js'));
    const resolved = req.resolve('@huggingface/transformers');
    const esm = resolved.replace(/transformers\.node\.cjs$/, 'transformers.node.mjs');
    return await import(pathToFileURL(esm).href);
  }
}
