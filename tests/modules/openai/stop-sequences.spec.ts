import { StopSequences } from '../../../src/modules/openai/stop-sequences';

describe('StopSequences', () => {
  const run = (stops: string[], pieces: string[]) => {
    const s = new StopSequences(stops);
    const out = pieces.map((p) => s.push(p));
    out.push(s.flush());
    return { out, text: out.join(''), stopped: s.stopped };
  };

  it('passes text through untouched without stop sequences', () => {
    expect(run([], ['안녕', '하세요'])).toEqual({
      out: ['안녕', '하세요', ''],
      text: '안녕하세요',
      stopped: false,
    });
  });

  it('cuts before a stop sequence split across pieces, never sending part of it', () => {
    const r = run(['감사합니다'], ['반가워요 ', '감사', '합니', '다 또 봐요']);
    expect(r.text).toBe('반가워요 ');
    expect(r.out).toEqual(['반가워요 ', '', '', '', '']);
    expect(r.stopped).toBe(true);
  });

  it('releases held-back text that turned out not to be a stop sequence', () => {
    const r = run(['감사합니다'], ['고마워요 감', '자 좋아해요']);
    expect(r.out).toEqual(['고마워요 ', '감자 좋아해요', '']);
    expect(r.stopped).toBe(false);
  });

  it('stops at the earliest of several sequences, and apply() cuts a whole text the same way', () => {
    expect(run(['\n', '!'], ['와', '아! 정말\n'])).toMatchObject({ text: '와아', stopped: true });
    expect(new StopSequences(['!', '?']).apply('정말? 와!')).toBe('정말');
    expect(new StopSequences(['x']).apply('안녕')).toBe('안녕');
  });

  it('flushes a held prefix at the end of the text', () => {
    expect(run(['감사합니다'], ['좋아요 감사'])).toEqual({
      out: ['좋아요 ', '감사'],
      text: '좋아요 감사',
      stopped: false,
    });
  });
});
