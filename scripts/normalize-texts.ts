/**
 * The chat's text normaliser as a filter, for the training scripts: one JSON string per input line, the
 * normalised string (normalizeText, or the text itself when that leaves nothing) per output line. The
 * sentence encoder is trained on what the service will embed.
 *
 *   node -r ts-node/register/transpile-only scripts/normalize-texts.ts < texts.jsonl > normalised.jsonl
 */
import { createInterface } from 'node:readline';
import { normalizeText } from '../src/modules/chat/text/normalize';

const out: string[] = [];
createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    const text = JSON.parse(line) as string;
    out.push(JSON.stringify(normalizeText(text) || text));
    if (out.length >= 4096) process.stdout.write(out.splice(0).join('\n') + '\n');
  })
  .on('close', () => {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
  });
