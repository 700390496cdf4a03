import { decide, PolicyCalibration } from '../../../../src/modules/chat/policy/reply-policy';
import { RetrievalHit } from '../../../../src/modules/chat/retrieval';

const CAL: PolicyCalibration = { answer: 0.6, margin: 0.05, outOfScope: 0.5 };
const hit = (score: number, intent = 'meal'): RetrievalHit => ({
  id: 0,
  score,
  entry: { q: '배고파', a: '뭐라도 드세요!', intent, source: 'ko-smalltalk.jsonl' },
});
const oos = (score: number) => ({ q: '파이썬 코드 짜줘', kind: 'code', score });

describe('decide (the chat policy, without any engine)', () => {
  it('answers from the corpus when the match clears the threshold and beats the out-of-scope anchor by the margin', () => {
    expect(decide(hit(0.8), oos(0.3), CAL)).toMatchObject({ route: 'retrieval', hit: { score: 0.8 } });
    expect(decide(hit(0.8), undefined, CAL).route).toBe('retrieval');
  });

  it('does not answer from the corpus when an out-of-scope anchor is as close, even above the threshold', () => {
    expect(decide(hit(0.7), oos(0.68), CAL)).toMatchObject({ route: 'fallback', reason: 'out_of_scope' });
  });

  it('declines a request nearer to the out-of-scope anchors than to small talk', () => {
    const d = decide(hit(0.4), oos(0.7), CAL);
    expect(d).toEqual({ route: 'fallback', reason: 'out_of_scope', outOfScope: oos(0.7) });
  });

  it('hands uncovered small talk to the generator: under the threshold and not near the anchors', () => {
    expect(decide(hit(0.45), oos(0.3), CAL).route).toBe('generation');
    // Near an anchor but nearer to the corpus by more than the margin: still small talk.
    expect(decide(hit(0.58), oos(0.5), CAL).route).toBe('generation');
    // Within the margin of an anchor: declined.
    expect(decide(hit(0.58), oos(0.55), CAL).route).toBe('fallback');
    expect(decide(undefined, undefined, CAL).route).toBe('generation');
  });

  it('follows the calibration it is given', () => {
    expect(decide(hit(0.55), oos(0.1), { ...CAL, answer: 0.5 }).route).toBe('retrieval');
    expect(decide(hit(0.55), oos(0.52), { ...CAL, answer: 0.5, margin: 0 }).route).toBe('retrieval');
    expect(decide(hit(0.3), oos(0.45), { ...CAL, outOfScope: 0.46 }).route).toBe('generation');
    expect(decide(hit(0.3), oos(0.45), CAL).route).toBe('generation');
    expect(decide(hit(0.3), oos(0.5), CAL).route).toBe('fallback');
  });
});
