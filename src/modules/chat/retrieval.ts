import { writeFileAtomic } from '../../common/fs/atomic-write';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Corpus, CorpusEntry, loadCorpus } from './corpus/corpus-loader';
import { loadOutOfScopeFile, OutOfScopeFile } from './corpus/out-of-scope-loader';
import { Embedder, EmbedderFactory, EmbedderState } from './embedding/embedder';
import { CorpusIndex, indexBuildId, IndexOptions } from './index/corpus-index';
import { OutOfScopeHit } from './policy/reply-policy';
import { compactKey } from './text/normalize';

/** Bump when the saved files change shape. */
const INDEX_FORMAT = 3;
/** Index files kept in the index folder (other configurations, older corpora); older ones are deleted. */
const KEEP_INDEXES = 6;

export interface RetrievalHit {
  /** Row of the entry in the corpus. */
  id: number;
  entry: CorpusEntry;
  /** Cosine similarity of the message and the entry's question. */
  score: number;
}

export interface RetrievalSettings {
  corpusDir: string;
  files: readonly string[];
  /** Requests the bot declines (absolute path); undefined: no out-of-scope side. */
  outOfScopeFile?: string;
  indexDir: string;
  index: IndexOptions;
  /** Messages whose inspection each generation remembers (CHAT_RETRIEVAL_CACHE; 0: none). */
  cacheSize?: number;
}

interface IndexMetadata {
  format: number;
  fingerprint: string;
  createdAt: string;
  entries: number;
  dim: number;
  embedder: { id: string; state?: EmbedderState };
  index: string;
  corpus: { name: string; sha256: string; entries: number }[];
  outOfScope?: { name: string; sha256: string; entries: number };
}

/** The out-of-scope anchors and their FAISS index, embedded like the corpus questions. */
export interface OutOfScopeSet {
  file: OutOfScopeFile;
  index: CorpusIndex;
}

/** What the policy looks at for one message: the corpus matches and the nearest out-of-scope anchor. */
export interface Inspection {
  readonly hits: readonly RetrievalHit[];
  outOfScope?: OutOfScopeHit;
}

/**
 * One immutable generation of the chat's knowledge: the corpus, the embedder fitted on it and the FAISS index
 * of its questions. A corpus reload builds a new one and swaps it in; requests holding the old one finish
 * with it.
 */
export class Retrieval {
  private readonly pools = new Map<string, string[]>();
  private readonly poolOf: string[];
  private readonly intentCounts = new Map<string, number>();
  /** Row of each file's first entry. */
  private readonly offsets: number[];
  /**
   * What inspect() found for the messages seen lately (by exact text and k): a greeting or a frequent question
   * skips the encoder and the search. Bounded; it lives and dies with this generation of the corpus.
   */
  private readonly recent?: LRUCache<string, Promise<Inspection>>;

  constructor(
    readonly corpus: Corpus,
    readonly embedder: Embedder,
    /** One FAISS index per corpus file, in CHAT_CORPUS_FILES order (files are ranked by that order). */
    readonly shards: readonly CorpusIndex[],
    readonly fingerprint: string,
    /** `built`: embedded now; `loaded`: read from the index folder. */
    readonly origin: 'built' | 'loaded',
    readonly loadMs: number,
    readonly outOfScope?: OutOfScopeSet,
    /** Messages whose inspection is remembered (0: none). */
    cacheSize = 0,
  ) {
    if (cacheSize > 0) this.recent = new LRUCache({ max: cacheSize });
    if (shards.length !== corpus.files.length) throw new Error('one index per corpus file is expected');
    let offset = 0;
    this.offsets = corpus.files.map((f) => ((offset += f.entries.length), offset - f.entries.length));
    const intentPooled = new Map(corpus.files.map((f) => [f.name, f.intentAnswers]));
    this.poolOf = corpus.entries.map((e) => {
      // Our intents are narrow (greeting, thanks...): any answer of the intent fits. ChatbotData's labels are
      // broad topics: only the answers written for the same question fit.
      const key = intentPooled.get(e.source)
        ? `${e.source}\u0000i\u0000${e.intent}`
        : `${e.source}\u0000q\u0000${compactKey(e.q)}`;
      const pool = this.pools.get(key) ?? [];
      if (!pool.includes(e.a)) pool.push(e.a);
      this.pools.set(key, pool);
      this.intentCounts.set(e.intent, (this.intentCounts.get(e.intent) ?? 0) + 1);
      return key;
    });
  }

  get size(): number {
    return this.corpus.entries.length;
  }

  /**
   * The k questions nearest to the message in each corpus file, best first; equal scores favour the earlier
   * file.
   */
  async search(message: string, k: number): Promise<readonly RetrievalHit[]> {
    return (await this.inspect(message, k)).hits;
  }

  /**
   * search() plus the nearest out-of-scope anchor, from one embedding of the message. The same message asked
   * again (or while its first inspection is under way) shares that inspection; the result is read-only.
   */
  inspect(message: string, k: number): Promise<Inspection> {
    if (!this.recent) return this.look(message, k);
    const key = `${k}\u0000${message}`;
    const known = this.recent.get(key);
    if (known) return known;
    const fresh = this.look(message, k);
    this.recent.set(key, fresh);
    // A failure (the encoder's queue full, a shutdown) is not remembered.
    fresh.catch(() => this.recent?.get(key) === fresh && this.recent.delete(key));
    return fresh;
  }

  private async look(message: string, k: number): Promise<Inspection> {
    const [vector] = await this.embedder.embed([message]);
    const hits: RetrievalHit[] = [];
    this.shards.forEach((shard, f) => {
      for (const h of shard.search(vector, k)) {
        const id = this.offsets[f] + h.id;
        hits.push({ id, entry: this.corpus.entries[id], score: h.score });
      }
    });
    hits.sort((a, b) => (Math.abs(a.score - b.score) < 1e-5 ? a.id - b.id : b.score - a.score));
    const top = this.outOfScope?.index.search(vector, 1)[0];
    const anchor = top && this.outOfScope!.file.entries[top.id];
    return { hits, outOfScope: anchor && { q: anchor.q, kind: anchor.kind, score: top.score } };
  }

  /**
   * The hit to answer with. Corpus files are ranked in CHAT_CORPUS_FILES order: the best hit of the first
   * file that clears `threshold` and is within `margin` of the overall best wins (so our curated intents
   * answer "who are you?" even when ChatbotData has a closer wording); else the overall best hit.
   */
  pick(hits: readonly RetrievalHit[], threshold: number, margin: number): RetrievalHit | undefined {
    const best = hits[0];
    if (!best) return undefined;
    for (const file of this.corpus.files) {
      const top = hits.find((h) => h.entry.source === file.name);
      if (top && top.score >= threshold && top.score >= best.score - margin) return top;
    }
    return best;
  }

  /** Answers that fit a matched entry (its own first). */
  answersFor(id: number): string[] {
    const own = this.corpus.entries[id].a;
    const pool = this.pools.get(this.poolOf[id]) ?? [];
    return [own, ...pool.filter((a) => a !== own)];
  }

  /** Every answer of an intent in the files whose answers are pooled by intent. */
  answersOfIntent(intent: string): string[] {
    const out: string[] = [];
    for (const f of this.corpus.files) {
      if (!f.intentAnswers) continue;
      for (const a of this.pools.get(`${f.name}\u0000i\u0000${intent}`) ?? [])
        if (!out.includes(a)) out.push(a);
    }
    return out;
  }

  intents(): Record<string, number> {
    return Object.fromEntries(this.intentCounts);
  }

  describe(): Record<string, unknown> {
    return {
      entries: this.size,
      intents: this.intentCounts.size,
      files: this.corpus.files.map((f) => ({ name: f.name, format: f.format, entries: f.entries.length })),
      fingerprint: this.fingerprint,
      origin: this.origin,
      outOfScope: this.outOfScope
        ? { file: this.outOfScope.file.name, anchors: this.outOfScope.file.entries.length }
        : null,
      index: this.shards.map((s) => s.describe()),
      ...this.embedder.describe(),
    };
  }
}

export function fingerprintOf(
  corpus: Corpus,
  embedderId: string,
  index: IndexOptions,
  outOfScope?: OutOfScopeFile,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        format: INDEX_FORMAT,
        corpus: corpus.sha256,
        outOfScope: outOfScope?.sha256 ?? null,
        embedder: embedderId,
        index: indexBuildId(index),
      }),
    )
    .digest('hex');
}

/**
 * Loads the corpus, then the persisted index whose fingerprint (sha256 of the corpus files' contents, the
 * embedder's id and parameters, and the index type) matches, or else embeds the corpus, builds the FAISS
 * index and saves it (atomically) beside the corpus for the next start.
 */
export async function buildRetrieval(
  settings: RetrievalSettings,
  factory: EmbedderFactory,
  log: (message: string) => void = () => undefined,
): Promise<Retrieval> {
  const started = performance.now();
  const corpus = await loadCorpus(settings.corpusDir, settings.files);
  let oosFile: OutOfScopeFile | undefined;
  if (settings.outOfScopeFile && existsSync(settings.outOfScopeFile))
    oosFile = await loadOutOfScopeFile(settings.outOfScopeFile);
  else if (settings.outOfScopeFile)
    log(
      `no out-of-scope file at ${settings.outOfScopeFile}: every message not answered goes to the generator`,
    );
  const fingerprint = fingerprintOf(corpus, factory.id, settings.index, oosFile);
  const base = path.join(settings.indexDir, fingerprint.slice(0, 32));
  const elapsed = () => Math.round(performance.now() - started);

  const saved = await readSaved(base, fingerprint, corpus, settings.index, factory, oosFile).catch(
    (err: unknown) => {
      log(`saved index ${path.basename(base)} is unusable, rebuilding: ${(err as Error).message}`);
      return undefined;
    },
  );
  if (saved)
    return new Retrieval(
      corpus,
      saved.embedder,
      saved.shards,
      fingerprint,
      'loaded',
      elapsed(),
      saved.oos,
      settings.cacheSize,
    );

  // IDF (for the hashed embedder) is fitted on every question the service knows.
  const embedder = await factory.fit(corpus.entries.map((e) => e.q));
  const shards: CorpusIndex[] = [];
  for (const file of corpus.files) {
    const questions = file.entries.map((e) => e.q);
    shards.push(
      await CorpusIndex.build(
        questions.length,
        embedder.dim,
        (ids) => embedder.embed(ids.map((i) => questions[i])),
        settings.index,
      ),
    );
  }
  let oos: OutOfScopeSet | undefined;
  if (oosFile) {
    const qs = oosFile.entries.map((e) => e.q);
    const index = await CorpusIndex.build(
      qs.length,
      embedder.dim,
      (ids) => embedder.embed(ids.map((i) => qs[i])),
      settings.index,
    );
    oos = { file: oosFile, index };
  }
  const retrieval = new Retrieval(
    corpus,
    embedder,
    shards,
    fingerprint,
    'built',
    elapsed(),
    oos,
    settings.cacheSize,
  );
  try {
    await save(base, retrieval, settings.index);
  } catch (err) {
    // A read-only corpus folder still serves; the next start just builds again.
    log(`could not save the index in ${settings.indexDir}: ${(err as Error).message}`);
  }
  return retrieval;
}

async function readSaved(
  base: string,
  fingerprint: string,
  corpus: Corpus,
  options: IndexOptions,
  factory: EmbedderFactory,
  oosFile: OutOfScopeFile | undefined,
): Promise<{ embedder: Embedder; shards: CorpusIndex[]; oos?: OutOfScopeSet } | undefined> {
  let raw: string;
  try {
    raw = await fs.readFile(`${base}.json`, 'utf8');
  } catch {
    return undefined;
  }
  const meta = JSON.parse(raw) as IndexMetadata;
  if (meta.format !== INDEX_FORMAT || meta.fingerprint !== fingerprint) return undefined;
  if (meta.entries !== corpus.entries.length) throw new Error('the entry count differs from the corpus');
  const embedder = await factory.restore(meta.embedder.state);
  const shards: CorpusIndex[] = [];
  for (const [i, file] of corpus.files.entries()) {
    const index = await CorpusIndex.read(`${base}.${i}.faiss`, options);
    if (index.size !== file.entries.length || index.dim !== embedder.dim)
      throw new Error(
        `index ${i} holds ${index.size}×${index.dim} vectors, not ${file.entries.length}×${embedder.dim}`,
      );
    shards.push(index);
  }
  let oos: OutOfScopeSet | undefined;
  if (oosFile) {
    const index = await CorpusIndex.read(`${base}.oos.faiss`, options);
    if (index.size !== oosFile.entries.length || index.dim !== embedder.dim)
      throw new Error(`the out-of-scope index holds ${index.size}×${index.dim} vectors`);
    oos = { file: oosFile, index };
  }
  // Recently used indexes are the ones pruning keeps.
  const now = new Date();
  await fs.utimes(`${base}.json`, now, now).catch(() => undefined);
  return { embedder, shards, oos };
}

async function save(base: string, r: Retrieval, options: IndexOptions): Promise<void> {
  await fs.mkdir(path.dirname(base), { recursive: true });
  // The indexes first, the metadata last: metadata present means the set is complete.
  for (const [i, shard] of r.shards.entries()) await shard.write(`${base}.${i}.faiss`);
  if (r.outOfScope) await r.outOfScope.index.write(`${base}.oos.faiss`);
  const meta: IndexMetadata = {
    format: INDEX_FORMAT,
    fingerprint: r.fingerprint,
    createdAt: new Date().toISOString(),
    entries: r.size,
    dim: r.embedder.dim,
    embedder: { id: r.embedder.id, state: r.embedder.state?.() },
    index: indexBuildId(options),
    corpus: r.corpus.files.map((f) => ({ name: f.name, sha256: f.sha256, entries: f.entries.length })),
    outOfScope: r.outOfScope && {
      name: r.outOfScope.file.name,
      sha256: r.outOfScope.file.sha256,
      entries: r.outOfScope.file.entries.length,
    },
  };
  await writeFileAtomic(`${base}.json`, Buffer.from(JSON.stringify(meta)));
  await prune(path.dirname(base));
}

/** Keeps the most recently written or used indexes only (with their files). */
async function prune(dir: string): Promise<void> {
  const entries = await fs.readdir(dir);
  const metas = entries.filter((n) => /^[0-9a-f]{32}\.json$/.test(n));
  const stats = await Promise.all(
    metas.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  stats.sort((a, b) => b.t - a.t);
  for (const { n } of stats.slice(KEEP_INDEXES)) {
    const stem = n.slice(0, 32);
    await fs.rm(path.join(dir, n), { force: true });
    for (const f of entries)
      if (f.startsWith(`${stem}.`) && f.endsWith('.faiss')) await fs.rm(path.join(dir, f), { force: true });
  }
}
