/**
 * `npm run calibrate:chat`: chooses each embedder's policy thresholds (DEFAULT_CALIBRATION in chat.config.ts)
 * on the training files only, never on corpus/eval/:
 *
 * - in domain: every corpus question, searched among the other corpus questions (leave-one-out); right when
 *   the policy answers from the corpus with its intent;
 * - out of scope: every anchor of out-of-scope.jsonl, searched among the other anchors; right when declined;
 * - uncovered small talk: ChatbotData questions (../shared/datasets/chatbot, when present; the public Q&A
 *   set is not served); wrong when declined as out of scope.
 *
 * Chosen: the thresholds that maximise  in-domain accuracy + out-of-scope declined + small talk not declined
 * (each a rate) among those that answer at most 5 % of the out-of-scope anchors from the corpus.
 *
 *   npx ts-node --transpile-only src/modules/chat/eval/calibrate-chat.ts [--embedders hashed-ngram,...]
 */
import 'reflect-metadata';
import { IndexFlatIP } from 'faiss-node';
import { readFileSync } from 'node:fs';
import { parseChatbotDataCsv } from '../corpus/corpus-loader';
import { decide, PolicyCalibration } from '../policy/reply-policy';
import { embedderKinds, evalContext, retrievalFor, sharedDataset } from './eval-support';

interface Probe {
  /** Best similarity to a corpus question (itself excluded), that question's intent, and the expected one. */
  inScore: number;
  inIntent: string;
  expected?: string;
  oosScore: number;
}

function flat(vectors: Float32Array[], dim: number): IndexFlatIP {
  const index = new IndexFlatIP(dim);
  const data = new Array<number>(vectors.length * dim);
  vectors.forEach((v, i) => {
    for (let k = 0; k < dim; k++) data[i * dim + k] = v[k];
  });
  index.add(data);
  return index;
}

/** Nearest neighbour of each query, skipping the query's own row when `self` is given. */
function nearest(
  index: IndexFlatIP,
  queries: Float32Array[],
  self: boolean,
): { id: number; score: number }[] {
  const k = self ? 2 : 1;
  return queries.map((q, i) => {
    const { labels, distances } = index.search(Array.from(q), k);
    const j = self && labels[0] === i ? 1 : 0;
    return { id: labels[j], score: distances[j] };
  });
}

function grid(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let x = from; x <= to + 1e-9; x += step) out.push(Math.round(x * 1000) / 1000);
  return out;
}

async function main(): Promise<void> {
  const ctx = await evalContext();
  const cbFile = sharedDataset(ctx, 'chatbot', 'ChatbotData.csv');
  const smalltalk = cbFile
    ? parseChatbotDataCsv(readFileSync(cbFile, 'utf8'), 'ChatbotData.csv')
        .filter((_, i) => i % 6 === 0)
        .map((e) => e.q)
    : [];
  for (const kind of embedderKinds(ctx)) {
    const r = await retrievalFor(ctx, kind);
    const entries = r.corpus.entries;
    const anchors = r.outOfScope?.file.entries ?? [];
    const emb = r.embedder;
    const qv = await emb.embed(entries.map((e) => e.q));
    const av = await emb.embed(anchors.map((a) => a.q));
    const sv = await emb.embed(smalltalk);
    const qi = flat(qv, emb.dim);
    const ai = flat(av, emb.dim);
    const probe = (
      vs: Float32Array[],
      selfIn: boolean,
      selfOos: boolean,
      expected?: (i: number) => string,
    ) => {
      const inn = nearest(qi, vs, selfIn);
      const oos = anchors.length > 0 ? nearest(ai, vs, selfOos) : vs.map(() => ({ id: -1, score: -1 }));
      return vs.map<Probe>((_, i) => ({
        inScore: inn[i].score,
        inIntent: entries[inn[i].id]?.intent ?? '',
        expected: expected?.(i),
        oosScore: oos[i].score,
      }));
    };
    const inDomain = probe(qv, true, false, (i) => entries[i].intent);
    const declinable = probe(av, false, true);
    const talk = probe(sv, false, false);
    const route = (p: Probe, cal: PolicyCalibration) =>
      decide(
        { id: 0, score: p.inScore, entry: { q: '', a: '', intent: p.inIntent, source: '' } },
        { q: '', kind: '', score: p.oosScore },
        cal,
      ).route;
    const rate = (ps: Probe[], ok: (p: Probe) => boolean) =>
      ps.length ? ps.filter(ok).length / ps.length : 0;

    let best: { cal: PolicyCalibration; j: number; m: Record<string, number> } | undefined;
    for (const answer of grid(0.2, 0.95, 0.025))
      for (const margin of grid(-0.1, 0.2, 0.025))
        for (const outOfScope of grid(0.2, 0.95, 0.05)) {
          const cal = { answer, margin, outOfScope };
          const m = {
            inDomainAccuracy: rate(
              inDomain,
              (p) => route(p, cal) === 'retrieval' && p.inIntent === p.expected,
            ),
            inDomainFallback: rate(inDomain, (p) => route(p, cal) === 'fallback'),
            oosAnswered: rate(declinable, (p) => route(p, cal) === 'retrieval'),
            oosDeclined: rate(declinable, (p) => route(p, cal) === 'fallback'),
            smalltalkDeclined: rate(talk, (p) => route(p, cal) === 'fallback'),
          };
          if (m.oosAnswered > 0.05) continue;
          const j = m.inDomainAccuracy + m.oosDeclined + (1 - m.smalltalkDeclined);
          if (!best || j > best.j + 1e-9) best = { cal, j, m };
        }
    const round = (v: number) => Math.round(v * 10000) / 10000;
    console.log(
      `${kind}: ${JSON.stringify(best?.cal)}  leave-one-out: ${JSON.stringify(
        Object.fromEntries(Object.entries(best?.m ?? {}).map(([k, v]) => [k, round(v)])),
      )}  (corpus ${inDomain.length}, anchors ${declinable.length}, ChatbotData small talk ${talk.length})`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(`calibrate:chat failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
