import type { GeneratedReply } from '../chat-generator';
import type { Embedder } from '../embedding/embedder';
import { QualityIssue, qualityIssues } from './reply-quality';

/** A generated reply as the generator hands it over through the CHAT_GENERATOR port. */
export type ReplyCandidate = GeneratedReply;

export interface RankedReply<C extends ReplyCandidate = ReplyCandidate> {
  candidate: C;
  /** meanLogProb + relevanceWeight · similarity(message, reply) − Σ penalties. */
  score: number;
  meanLogProb: number;
  similarity: number;
  issues: QualityIssue[];
}

export interface ChooserSettings {
  /** Weight of the message–reply similarity (MMI-style relevance). */
  relevanceWeight: number;
}

/** Penalty for a reply cut off by max_new_tokens or the deadline (it ends mid-sentence). */
const CUT_OFF = 1;

/**
 * Ranks the sampled replies: how likely the model finds each (length-normalised log-probability), how
 * related it is to the message (the chat's own embedder, as DialoGPT's MMI reranking scores relevance), and
 * penalties for malformed text. The caller sends the best one only when passesGate(): no quality issue and a
 * score of at least CHAT_REPLY_GATE.
 */
export async function rankReplies<C extends ReplyCandidate>(
  message: string,
  candidates: readonly C[],
  embedder: Embedder,
  settings: ChooserSettings,
): Promise<RankedReply<C>[]> {
  const usable = candidates.filter((c) => c.text.trim() !== '');
  if (usable.length === 0) return [];
  const [m, ...replies] = await embedder.embed([message, ...usable.map((c) => c.text)]);
  const ranked = usable.map((c, i) => {
    const issues = qualityIssues(c.text, message);
    if (c.finishReason !== 'eos') issues.push({ issue: 'cut off', penalty: CUT_OFF });
    const meanLogProb = c.logProb / Math.max(1, c.scoredTokens);
    let similarity = 0;
    for (let k = 0; k < m.length; k++) similarity += m[k] * replies[i][k];
    const penalty = issues.reduce((s, x) => s + x.penalty, 0);
    return {
      candidate: c,
      score: meanLogProb + settings.relevanceWeight * similarity - penalty,
      meanLogProb,
      similarity,
      issues,
    };
  });
  // Clean replies first: a reply with a quality issue is never sent (see passesGate), so it must not hide a
  // clean one that scores lower.
  return ranked.sort(
    (a, b) => Number(a.issues.length > 0) - Number(b.issues.length > 0) || b.score - a.score,
  );
}

/** The lowest CHAT_REPLY_GATE: the gate is off and any reply is sent (tests of the plumbing, debugging). */
export const GATE_OFF = -100;

/**
 * Whether the chat sends `best` (the first of rankReplies): no quality issue, and a score at the gate or above;
 * anything at all when the gate is GATE_OFF.
 */
export function passesGate(best: RankedReply | undefined, gate: number): best is RankedReply {
  if (!best) return false;
  return gate <= GATE_OFF || (best.issues.length === 0 && best.score >= gate);
}
