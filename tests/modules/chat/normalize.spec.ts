import { composeSyllable, decomposeSyllable, toJamo } from '../../../src/modules/chat/text/hangul';
import { compactKey, EMOJI, normalizeText, unicodeClean } from '../../../src/modules/chat/text/normalize';

describe('Hangul arithmetic', () => {
  it('decomposes syllables into lead, vowel and tail jamo', () => {
    expect(decomposeSyllable('한')).toEqual(['ㅎ', 'ㅏ', 'ㄴ']);
    expect(decomposeSyllable('가')).toEqual(['ㄱ', 'ㅏ']);
    expect(decomposeSyllable('힣')).toEqual(['ㅎ', 'ㅣ', 'ㅎ']);
    expect(decomposeSyllable('닭')).toEqual(['ㄷ', 'ㅏ', 'ㄺ']);
    expect(decomposeSyllable('a')).toEqual(['a']);
    expect(toJamo('감사!')).toEqual(['ㄱ', 'ㅏ', 'ㅁ', 'ㅅ', 'ㅏ', '!']);
  });

  it('composes every syllable back from its jamo', () => {
    for (let c = 0xac00; c <= 0xd7a3; c += 37) {
      const s = String.fromCodePoint(c);
      const [l, v, t] = decomposeSyllable(s);
      expect(composeSyllable(l, v, t)).toBe(s);
    }
    expect(composeSyllable('ㅏ', 'ㄱ')).toBeUndefined();
  });
});

describe('Korean text normalisation', () => {
  it('applies NFC and NFKC, but keeps typed jamo as jamo', () => {
    // Decomposed (NFD) Hangul, as macOS file names and some keyboards produce it.
    expect(normalizeText('안녕하세요'.normalize('NFD'))).toBe('안녕하세요');
    // Full-width letters and the ideographic space.
    expect(normalizeText('ＨＥＬＬＯ　안녕')).toBe('hello 안녕');
    // NFKC would turn ㅋ into a conjoining jamo that fuses with the ㅠ that follows (큐): not here.
    expect(normalizeText('ㅋㅋㅋㅠㅠ')).toBe(`${EMOJI.laugh} ${EMOJI.sad}`);
    // A lone conjoining jamo reads as the compatibility jamo a keyboard types.
    expect(unicodeClean('\u1112\u1112')).toBe('ㅎㅎ');
  });

  it('removes invisible characters and control characters, and collapses spaces', () => {
    expect(normalizeText('안녕\u200b하세요\u00a0\u00a0 반가워요\t\n')).toBe('안녕하세요 반가워요');
    expect(normalizeText('\u0007안녕\u0000')).toBe('안녕');
  });

  it('collapses repeated characters and punctuation', () => {
    expect(normalizeText('고마워요오오오오!!!!!')).toBe('고마워요오오!');
    expect(normalizeText('진짜????!!!')).toBe('진짜?!');
    expect(normalizeText('안녕하세요~~~~')).toBe('안녕하세요~');
    expect(normalizeText('음......')).toBe('음.');
  });

  it('reads jamo-only shorthand as the words it stands for', () => {
    expect(normalizeText('ㅎㅇ')).toBe('안녕');
    expect(normalizeText('ㄱㅅ')).toBe('감사');
    expect(normalizeText('ㄳ')).toBe('감사');
    expect(normalizeText('ㅂㅂ')).toBe('바이바이');
    expect(normalizeText('ㅈㅅ합니다')).toBe('죄송합니다');
    expect(normalizeText('숫자 맞혔네 ㅊㅋㅊㅋ')).toBe('숫자 맞혔네 축하축하');
    expect(normalizeText('ㅎㅇㅌ')).toBe('화이팅');
    // Repeated shorthand at most twice.
    expect(normalizeText('ㄳㄳㄳㄳ')).toBe('감사감사');
    // Syllables typed jamo by jamo are put together.
    expect(normalizeText('심심ㅎㅐ')).toBe('심심해');
  });

  it('keeps laughter, crying, emoticons and emoji as signal, grouped by feeling', () => {
    expect(normalizeText('대박 ㅋㅋㅋㅋ')).toBe(`대박 ${EMOJI.laugh}`);
    expect(normalizeText('ㅎㅎ')).toBe(EMOJI.laugh);
    expect(normalizeText('ㅠㅠ')).toBe(EMOJI.sad);
    expect(normalizeText('T_T')).toBe(EMOJI.sad);
    expect(normalizeText('안녕 ^^')).toBe(`안녕 ${EMOJI.smile}`);
    expect(normalizeText('^^;')).toBe(EMOJI.awkward);
    expect(normalizeText(':)')).toBe(EMOJI.smile);
    expect(normalizeText('사랑해 <3')).toBe(`사랑해 ${EMOJI.love}`);
    expect(normalizeText('😂🤣')).toBe(EMOJI.laugh);
    expect(normalizeText('ㅡㅡ')).toBe(EMOJI.annoyed);
    // Variation selectors and skin tones do not make a different emoji; repeats are one.
    expect(normalizeText('👍🏽👍 ❤️')).toBe(`👍 ${EMOJI.love}`);
    expect(normalizeText('오 안녕 👋👋👋')).toBe('오 안녕 👋');
  });

  it('gives the same compact key to spacing and punctuation variants', () => {
    const key = compactKey('안녕하세요');
    for (const v of [
      '안녕 하세요',
      '안 녕 하 세 요!!',
      '  안녕하세요?',
      '안녕하세요~~~',
      '안녕하세요.'.normalize('NFD'),
    ])
      expect(compactKey(v)).toBe(key);
    expect(compactKey('안녕 😊')).toBe('안녕😊');
    expect(compactKey('감사드립니다')).not.toBe(compactKey('사과드립니다'));
  });

  it('is idempotent', () => {
    for (const s of ['ㅎㅇㅎㅇ!!! 반가웡 ^^', '심심ㅎㅐ ㅠㅠ', 'ＡＢＣ 😂😂', '고마워요오오오~~'])
      expect(normalizeText(normalizeText(s))).toBe(normalizeText(s));
  });
});
