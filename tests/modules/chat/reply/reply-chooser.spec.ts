import { Embedder } from '../../../../src/modules/chat/embedding/embedder';
import { passesGate, rankReplies, ReplyCandidate } from '../../../../src/modules/chat/reply/reply-chooser';

/** An Embedder port that sees every text as the same direction: similarity 1 for all, so only the rest ranks. */
const flat: Embedder = {
  id: 'flat',
  dim: 2,
  embed: async (texts) => texts.map(() => Float32Array.from([1, 0])),
  describe: () => ({}),
};

const reply = (text: string, logProb: number): ReplyCandidate => ({
  text,
  pieces: [text],
  logProb,
  scoredTokens: 4,
  finishReason: 'eos',
});

describe('rankReplies and the gate (in-memory embedder)', () => {
  it('puts a clean reply before a likelier one with a quality issue, and never lets an issue through', async () => {
    const ranked = await rankReplies(
      '오늘 너무 피곤해',
      [reply('푹 쉬세요 (', -2), reply('오늘은 일찍 쉬어 보세요.', -8)],
      flat,
      { relevanceWeight: 1 },
    );
    expect(ranked.map((r) => r.candidate.text)).toEqual(['오늘은 일찍 쉬어 보세요.', '푹 쉬세요 (']);
    expect(passesGate(ranked[0], -6)).toBe(true);
    expect(passesGate(ranked[0], 0)).toBe(false);
    expect(passesGate(ranked[1], -99)).toBe(false);
    // -100: the gate is off (the plumbing tests reach the generator whatever it says).
    expect(passesGate(ranked[1], -100)).toBe(true);
    expect(passesGate(undefined, -100)).toBe(false);
  });
});
