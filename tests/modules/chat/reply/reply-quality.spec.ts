import { Embedder } from '../../../../src/modules/chat/embedding/embedder';
import { rankReplies, ReplyCandidate } from '../../../../src/modules/chat/reply/reply-chooser';
import { qualityIssues } from '../../../../src/modules/chat/reply/reply-quality';

const issues = (reply: string, message = '오늘 뭐 했어?') =>
  qualityIssues(reply, message).map((i) => i.issue);

describe('qualityIssues (malformed generated Korean)', () => {
  it('passes ordinary replies, with or without punctuation and emoji', () => {
    for (const ok of [
      '좋은 소식이네요.',
      '정말 축하해요! 🎉',
      '그럴 땐 푹 쉬세요~',
      '맛있겠다',
      '저도 그래요 ㅎㅎ',
    ])
      expect(issues(ok)).toEqual([]);
  });

  it('flags a reply without a sentence-final ending', () => {
    expect(issues('좋은 건강')).toContain('no sentence-final ending');
  });

  it('flags unbalanced brackets, stray fragments, broken characters and punctuation runs', () => {
    expect(issues('그건 (정말 좋아요.')).toContain('unbalanced ()');
    expect(issues(') 저는요.')).toContain('starts with a fragment');
    expect(issues('좋아요\uFFFD')).toContain('broken character');
    expect(issues('좋아요.....!!!!')).toContain('punctuation run');
  });

  it("flags repeated phrases and copies of the user's message", () => {
    expect(issues('정말 좋아요 정말 좋아요 정말 좋아요')).toContain('repeated phrase');
    expect(issues('새로 산 신발이 예뻐요', '새로 산 신발이 예뻐')).toContain("copies the user's message");
    expect(issues('ㅋㅋ')).toContain('no Korean sentence');
  });
});

/** An in-memory embedder (a port fake): texts sharing their first syllable are similar. */
const FIRST_SYLLABLE: Embedder = {
  id: 'fake',
  dim: 2,
  embed: (texts) =>
    Promise.resolve(texts.map((t) => (t.startsWith('신') ? Float32Array.of(1, 0) : Float32Array.of(0, 1)))),
  describe: () => ({}),
};
const cand = (text: string, logProb: number, tokens = 5, finishReason = 'eos'): ReplyCandidate => ({
  text,
  pieces: [...text],
  logProb,
  scoredTokens: tokens,
  finishReason,
});

describe('rankReplies', () => {
  const settings = { relevanceWeight: 1 };

  it('ranks by mean log-probability plus relevance, minus penalties', async () => {
    const ranked = await rankReplies(
      '신발 샀어',
      [cand('좋은 건강', -2), cand('예쁘겠네요.', -5), cand('신나겠네요!', -5)],
      FIRST_SYLLABLE,
      settings,
    );
    expect(ranked.map((r) => r.candidate.text)).toEqual(['신나겠네요!', '예쁘겠네요.', '좋은 건강']);
    expect(ranked[0]).toMatchObject({ meanLogProb: -1, similarity: 1, score: 0, issues: [] });
    expect(ranked[2].issues.map((i) => i.issue)).toEqual(['no sentence-final ending']);
  });

  it('penalises a reply cut off before its end and ignores empty ones', async () => {
    const ranked = await rankReplies(
      '뭐 해',
      [cand('', -1), cand('산책해요.', -5, 5, 'length')],
      FIRST_SYLLABLE,
      settings,
    );
    expect(ranked).toHaveLength(1);
    expect(ranked[0].issues.map((i) => i.issue)).toEqual(['cut off']);
    // mean log-probability −1, similarity 1 (the fake embeds both alike), cut off −1
    expect(ranked[0].score).toBeCloseTo(-1);
  });
});
