import { parse } from 'csv-parse/sync';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** One question the chatbot knows, with the answer written for it and its intent. */
export interface CorpusEntry {
  /** The question as written in the corpus (what a match reports as `matched`). */
  q: string;
  a: string;
  intent: string;
  /** Base name of the corpus file it came from. */
  source: string;
}

export interface CorpusFile {
  /** Absolute path. */
  path: string;
  /** Base name, e.g. "ko-smalltalk.jsonl". */
  name: string;
  format: 'jsonl' | 'chatbotdata-csv';
  /**
   * Whether any answer of the entry's intent fits its questions. True for our curated intents (greeting,
   * thanks, ...); false for ChatbotData, whose labels are broad topics (everyday talk, breakup, love) and
   * whose answers only fit their own question.
   */
  intentAnswers: boolean;
  entries: CorpusEntry[];
  /** sha256 of the file's bytes. */
  sha256: string;
}

export interface Corpus {
  files: CorpusFile[];
  entries: CorpusEntry[];
  /** sha256 over every file's hash, in order. */
  sha256: string;
}

/** ChatbotData.csv `label` → intent (see corpus/README.md). */
export const CHATBOTDATA_INTENTS: Readonly<Record<string, string>> = {
  '0': 'smalltalk',
  '1': 'breakup',
  '2': 'love',
};

/** A corpus file that cannot be served, with the file and line that are wrong. */
export class CorpusError extends Error {}

/**
 * Reads the configured corpus files (relative to CORPUS_DIR unless absolute). `.jsonl` files are our
 * format (`{"q","a","intent"}` per line); `.csv` files are the public ChatbotData format (`Q,A,label`).
 */
export async function loadCorpus(corpusDir: string, files: readonly string[]): Promise<Corpus> {
  if (files.length === 0) throw new CorpusError('no corpus file is configured (CHAT_CORPUS_FILES is empty)');
  const loaded: CorpusFile[] = [];
  for (const f of files) loaded.push(await loadCorpusFile(path.resolve(corpusDir, f)));
  const names = new Set<string>();
  for (const f of loaded) {
    if (names.has(f.path)) throw new CorpusError(`corpus file ${f.name} is listed twice in CHAT_CORPUS_FILES`);
    names.add(f.path);
  }
  const hash = createHash('sha256');
  for (const f of loaded) hash.update(`${f.format}:${f.sha256}\n`);
  return { files: loaded, entries: loaded.flatMap((f) => f.entries), sha256: hash.digest('hex') };
}

/** A corpus-type file's bytes; a missing or unreadable file is a CorpusError naming it (`what`: "corpus file"…). */
export async function readCorpusBytes(file: string, what = 'corpus file'): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CorpusError(
      code === 'ENOENT' ? `${what} ${file} does not exist` : `${what} ${file} cannot be read (${code})`,
    );
  }
}

export async function loadCorpusFile(file: string): Promise<CorpusFile> {
  const bytes = await readCorpusBytes(file);
  const name = path.basename(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ext = path.extname(file).toLowerCase();
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let entries: CorpusEntry[];
  if (ext === '.jsonl' || ext === '.ndjson') {
    entries = parseJsonl(text, name);
    return { path: file, name, format: 'jsonl', intentAnswers: true, entries, sha256 };
  }
  if (ext === '.csv') {
    entries = parseChatbotDataCsv(text, name);
    return { path: file, name, format: 'chatbotdata-csv', intentAnswers: false, entries, sha256 };
  }
  throw new CorpusError(`corpus file ${name} has an unknown format (expected .jsonl or .csv)`);
}

/** Our format: one `{"q": string, "a": string, "intent": string}` per line; blank lines are skipped. */
export function parseJsonl(text: string, name: string): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${name} line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new CorpusError(`${where} is not valid JSON`);
    }
    const r = row as Record<string, unknown>;
    for (const field of ['q', 'a', 'intent']) {
      if (typeof r?.[field] !== 'string' || (r[field] as string).trim() === '')
        throw new CorpusError(`${where} needs a non-empty string "${field}"`);
    }
    entries.push({ q: (r.q as string).trim(), a: (r.a as string).trim(), intent: (r.intent as string).trim(), source: name });
  });
  if (entries.length === 0) throw new CorpusError(`corpus file ${name} has no entries`);
  return entries;
}

/**
 * The public ChatbotData format (songys/Chatbot_data): a `Q,A,label` header, RFC 4180 quoting, CRLF line
 * ends. Labels are trimmed (one row has "2   ") and mapped to intents; an unknown label becomes
 * `label_<value>`.
 */
export function parseChatbotDataCsv(text: string, name: string): CorpusEntry[] {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (err) {
    throw new CorpusError(`${name} is not valid CSV: ${(err as Error).message.split('\n')[0]}`);
  }
  if (rows.length === 0) throw new CorpusError(`corpus file ${name} is empty`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const qi = header.indexOf('q');
  const ai = header.indexOf('a');
  const li = header.indexOf('label');
  if (qi < 0 || ai < 0) throw new CorpusError(`${name} needs a header row with the columns Q,A,label`);
  const entries: CorpusEntry[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const q = row[qi]?.trim() ?? '';
    const a = row[ai]?.trim() ?? '';
    if (q === '' || a === '') throw new CorpusError(`${name} row ${r + 1} has an empty Q or A`);
    const label = li >= 0 ? (row[li] ?? '').trim() : '0';
    entries.push({ q, a, intent: CHATBOTDATA_INTENTS[label] ?? `label_${label}`, source: name });
  }
  if (entries.length === 0) throw new CorpusError(`corpus file ${name} has no entries`);
  return entries;
}
