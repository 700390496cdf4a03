/**
 * Hangul arithmetic (Unicode 3.12): a precomposed syllable U+AC00..U+D7A3 is
 * 0xAC00 + (lead × 21 + vowel) × 28 + tail, so it decomposes into jamo without any table of syllables.
 */

export const SYLLABLE_BASE = 0xac00;
export const SYLLABLE_LAST = 0xd7a3;
const VOWELS = 21;
const TAILS = 28;

/** Lead consonants (초성) as compatibility jamo, in Unicode order. */
export const LEADS = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ';
/** Vowels (중성). */
export const MEDIALS = 'ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ';
/** Tail consonants (종성); index 0 is "no tail". */
export const TAIL_JAMO = ['', ...'ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ'];

export function isSyllable(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return c >= SYLLABLE_BASE && c <= SYLLABLE_LAST;
}

/** Hangul compatibility jamo (what a keyboard types on its own: ㅎ, ㅠ, ㄳ). */
export function isCompatJamo(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return c >= 0x3131 && c <= 0x318e;
}

export function isConsonantJamo(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return c >= 0x3131 && c <= 0x314e;
}

export function isVowelJamo(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return c >= 0x314f && c <= 0x3163;
}

/** 한 → ['ㅎ', 'ㅏ', 'ㄴ']; anything that is not a syllable → [itself]. */
export function decomposeSyllable(ch: string): string[] {
  const c = ch.codePointAt(0) ?? 0;
  if (c < SYLLABLE_BASE || c > SYLLABLE_LAST) return [ch];
  const index = c - SYLLABLE_BASE;
  const lead = Math.floor(index / (VOWELS * TAILS));
  const vowel = Math.floor((index % (VOWELS * TAILS)) / TAILS);
  const tail = index % TAILS;
  const out = [LEADS[lead], MEDIALS[vowel]];
  if (tail > 0) out.push(TAIL_JAMO[tail]);
  return out;
}

/** Every syllable of the text decomposed into jamo; other characters kept. */
export function toJamo(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) out.push(...decomposeSyllable(ch));
  return out;
}

/** ('ㅎ', 'ㅏ', 'ㄴ') → 한; undefined when the jamo cannot form a syllable. */
export function composeSyllable(lead: string, vowel: string, tail = ''): string | undefined {
  const l = LEADS.indexOf(lead);
  const v = MEDIALS.indexOf(vowel);
  const t = tail === '' ? 0 : TAIL_JAMO.indexOf(tail);
  if (l < 0 || v < 0 || t < 0) return undefined;
  return String.fromCodePoint(SYLLABLE_BASE + (l * VOWELS + v) * TAILS + t);
}

/**
 * Conjoining jamo (U+1100 block) left over after NFC (a lone ᄒ) → compatibility jamo (ㅎ), so that the
 * same key press always reads the same. Only the modern jamo are mapped.
 */
const CONJOINING_LEADS = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ'; // U+1100..U+1112
export function conjoiningToCompat(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  if (c >= 0x1100 && c <= 0x1112) return CONJOINING_LEADS[c - 0x1100];
  if (c >= 0x1161 && c <= 0x1175) return MEDIALS[c - 0x1161];
  if (c >= 0x11a8 && c <= 0x11c2) return TAIL_JAMO[c - 0x11a8 + 1];
  return ch;
}
