import { RetrievalHit } from '../retrieval';

/**
 * Where a message goes. Retrieval when the best corpus question is close enough and closer than every
 * out-of-scope anchor by the margin; the honest fallback when an out-of-scope anchor (knowledge, tasks,
 * code…) is close enough and not clearly farther than the corpus; otherwise the generator, which handles the
 * small talk the corpus lacks.
 */
export interface PolicyCalibration {
  /** The best corpus similarity a retrieval answer needs (CHAT_MIN_SCORE). */
  answer: number;
  /** How much closer than the nearest out-of-scope anchor the corpus match must be (CHAT_ANSWER_MARGIN). */
  margin: number;
  /** The out-of-scope similarity at which a message that is not answered is declined (CHAT_OUT_OF_SCOPE_MIN_SCORE). */
  outOfScope: number;
}

/** The nearest out-of-scope anchor of a message. */
export interface OutOfScopeHit {
  q: string;
  kind: string;
  score: number;
}

export type FallbackReason =
  /** Closer to the out-of-scope anchors than to small talk. */
  | 'out_of_scope'
  /** Small talk the corpus does not cover, and no generator is ready. */
  | 'no_generator'
  /** The generator failed or said nothing. */
  | 'generator_failed'
  /** Every generated candidate scored under the quality gate. */
  | 'low_quality';

export type Decision =
  | { route: 'retrieval'; hit: RetrievalHit }
  | { route: 'generation' }
  | { route: 'fallback'; reason: 'out_of_scope'; outOfScope: OutOfScopeHit };

export function decide(
  hit: RetrievalHit | undefined,
  oos: OutOfScopeHit | undefined,
  cal: PolicyCalibration,
): Decision {
  const inScore = hit?.score ?? -1;
  const oosScore = oos?.score ?? -1;
  if (hit && inScore >= cal.answer && inScore - oosScore >= cal.margin) return { route: 'retrieval', hit };
  if (oos && oosScore >= cal.outOfScope && oosScore >= inScore - cal.margin)
    return { route: 'fallback', reason: 'out_of_scope', outOfScope: oos };
  return { route: 'generation' };
}
