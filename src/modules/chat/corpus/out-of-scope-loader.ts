import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { CorpusError, readCorpusBytes } from './corpus-loader';

/** A request the bot declines (knowledge, tasks, code…): an anchor of the out-of-scope side of the policy. */
export interface OutOfScopeEntry {
  q: string;
  /** What kind of request it is (knowledge, task, code, math, language, advice_expert, other). */
  kind: string;
}

export interface OutOfScopeFile {
  path: string;
  name: string;
  entries: OutOfScopeEntry[];
  sha256: string;
}

/** Reads `{"q": string, "kind": string}` lines (blank lines skipped); errors name the file and line. */
export async function loadOutOfScopeFile(file: string): Promise<OutOfScopeFile> {
  const bytes = await readCorpusBytes(file, 'out-of-scope file');
  const name = path.basename(file);
  const entries: OutOfScopeEntry[] = [];
  bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new CorpusError(`${name} line ${i + 1} is not valid JSON`);
      }
      if (typeof row?.q !== 'string' || row.q.trim() === '')
        throw new CorpusError(`${name} line ${i + 1} needs a non-empty string "q"`);
      entries.push({ q: row.q.trim(), kind: typeof row.kind === 'string' ? row.kind : 'other' });
    });
  if (entries.length === 0) throw new CorpusError(`out-of-scope file ${name} has no entries`);
  return { path: file, name, entries, sha256: createHash('sha256').update(bytes).digest('hex') };
}
