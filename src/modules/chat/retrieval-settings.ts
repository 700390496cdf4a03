import * as path from 'node:path';
import { AppConfig } from '../../config/app.config';
import { ChatConfig } from './chat.config';
import { EmbedderFactory } from './embedding/embedder';
import { FusionFactory } from './embedding/fusion.embedder';
import { HASHED_NGRAM_DEFAULTS, HashedNgramFactory } from './embedding/hashed-ngram.embedder';
import { SentenceEncoder } from './embedding/sentence-encoder';
import { TransformerFactory } from './embedding/transformer.embedder';
import { IndexOptions } from './index/corpus-index';
import { RetrievalSettings } from './retrieval';

/** Where the corpus, the index folder and the index type come from (shared by the service and eval:chat). */
export function retrievalSettings(app: AppConfig, chat: ChatConfig): RetrievalSettings {
  const corpusDir = path.resolve(chat.CORPUS_DIR);
  const index: IndexOptions = {
    kind: chat.CHAT_INDEX,
    hnswM: chat.CHAT_HNSW_M,
    hnswEfConstruction: chat.CHAT_HNSW_EF_CONSTRUCTION,
    hnswEfSearch: chat.CHAT_HNSW_EF_SEARCH,
    ivfNlist: chat.CHAT_IVF_NLIST,
    ivfNprobe: chat.CHAT_IVF_NPROBE,
  };
  return {
    corpusDir,
    files: chat.CHAT_CORPUS_FILES,
    outOfScopeFile:
      chat.CHAT_OUT_OF_SCOPE_FILE && chat.CHAT_OUT_OF_SCOPE_FILE !== 'none'
        ? path.resolve(corpusDir, chat.CHAT_OUT_OF_SCOPE_FILE)
        : undefined,
    indexDir: chat.CHAT_INDEX_DIR ? path.resolve(chat.CHAT_INDEX_DIR) : path.join(corpusDir, '.index'),
    cacheSize: chat.CHAT_RETRIEVAL_CACHE,
    index,
  };
}

/** The configured embedder: the built-in hashed n-grams, or a loaded sentence encoder. */
export function embedderFactory(chat: ChatConfig, encoder?: SentenceEncoder): EmbedderFactory {
  const ngram = new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: chat.CHAT_EMBED_DIM });
  if (chat.CHAT_EMBEDDER === 'hashed-ngram') return ngram;
  if (!encoder)
    throw new Error(`CHAT_EMBEDDER=${chat.CHAT_EMBEDDER} needs the sentence encoder to be loaded`);
  const learned = new TransformerFactory(encoder);
  return chat.CHAT_EMBEDDER === 'fusion'
    ? new FusionFactory(ngram, learned, chat.CHAT_FUSION_WEIGHT)
    : learned;
}

/** Whether the configured embedder needs the sentence encoder. */
export function usesEncoder(chat: ChatConfig): boolean {
  return chat.CHAT_EMBEDDER !== 'hashed-ngram';
}
