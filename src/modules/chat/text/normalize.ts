import {
  composeSyllable,
  conjoiningToCompat,
  isCompatJamo,
  isConsonantJamo,
  isVowelJamo,
  LEADS,
  TAIL_JAMO,
} from './hangul';

/**
 * Korean chat text normalisation, applied the same way to corpus questions and to user messages before
 * they are embedded. Bump the version when the output changes: it is part of the index fingerprint.
 */
export const NORMALIZER_VERSION = 1;

/**
 * Jamo-only shorthand (초성체) typed in chats, expanded to the words they stand for. Laughter (ㅋㅋ, ㅎㅎ)
 * and crying (ㅠㅠ, ㅜㅜ) are not words: they become emoji (see below), which keeps them as signal.
 * Profanity abbreviations are deliberately left as they are.
 */
export const SHORTHAND: Readonly<Record<string, string>> = {
  ㅎㅇ: '안녕',
  ㅂㅂ: '바이바이',
  ㅃㅃ: '바이바이',
  ㅂㅇ: '바이',
  ㅃㅇ: '바이',
  ㄱㅅ: '감사',
  ㄳ: '감사',
  ㄱㅁ: '고마워',
  ㄱㅁㅇ: '고마워',
  ㅈㅅ: '죄송',
  ㅁㅇ: '미안',
  ㅊㅋ: '축하',
  ㅇㅋ: '오케이',
  ㄱㄱ: '고고',
  ㅇㅇ: '응',
  ㄴㄴ: '노노',
  ㅅㄱ: '수고',
  ㄷㄷ: '덜덜',
  ㅁㄹ: '몰라',
  ㅇㅈ: '인정',
  ㄹㅇ: '진짜',
  ㅈㅈ: '지지',
  ㄱㄷ: '기다려',
  ㅊㅊ: '추천',
  ㄱㅊ: '괜찮아',
  ㅇㄷ: '어디',
  ㄴㄱ: '누구',
  ㅎㄹ: '헐',
  ㅇㅎ: '아하',
  ㅂㄹ: '별로',
  ㄴㅇㅅ: '나이스',
  ㅂㄱㅍ: '보고파',
  ㅂㄱㅅㅍ: '보고싶어',
  ㄱㅇㄷ: '개이득',
  ㅇㄱㄹㅇ: '이거진짜',
  ㅍㅇㅌ: '파이팅',
  ㅎㅇㅌ: '화이팅',
};
const SHORTHAND_MAX = Math.max(...Object.keys(SHORTHAND).map((k) => [...k].length));

/** One emoji per feeling, so that 😂, 🤣, ㅋㅋ and :D all read as the same laugh. */
export const EMOJI = {
  smile: '😊',
  laugh: '😆',
  sad: '😢',
  love: '❤',
  awkward: '😅',
  annoyed: '😒',
  thanks: '🙏',
} as const;

const EMOJI_CLASSES: [string, string][] = [
  [EMOJI.smile, '😀😃😄😁☺🙂😊🤗😇'],
  [EMOJI.laugh, '😆😂🤣😹'],
  [EMOJI.sad, '😢😭😥😿😞😔☹🙁😪'],
  [EMOJI.love, '❤♥♡💕💖💗💓💞💘😍🥰😘😻🧡💛💚💙💜🤍🖤'],
  [EMOJI.awkward, '😅💦'],
  [EMOJI.annoyed, '😒🙄😑😐'],
  [EMOJI.thanks, '🙏🙇'],
  ['👍', '👍👏🙌💯'],
  ['😴', '😴💤🛌'],
  ['☀', '☀🌞🌅🌄'],
];
const EMOJI_CLASS = new Map<string, string>();
for (const [canonical, members] of EMOJI_CLASSES) for (const m of members) EMOJI_CLASS.set(m, canonical);

/** Text emoticons → emoji, most specific first (^^; is awkward, ^^ a smile). */
const EMOTICONS: [RegExp, string][] = [
  [/\(\s?_\s?_\s?\)/g, EMOJI.thanks], // (_ _) a bow
  [/\^\s?\^+\s?;+|-_-+;*|;;+|💧/g, EMOJI.awkward],
  [/[ㅠㅜ][_.-]+[ㅠㅜ]|(?<![a-z])t[_.-]?t(?![a-z])|;_+;|:-?\(+|:'\(/g, EMOJI.sad],
  [/\^[_\-.ㅡ▽ω]?\^+|[:=;]-?\)+|\(:|:\]/g, EMOJI.smile],
  [/(?<![a-z]):-?d\b|(?<![a-z])x-?d\b|\blo+l\b|\blmao\b/g, EMOJI.laugh],
  [/<3+/g, EMOJI.love],
  [/>_+<|ㅡ_+ㅡ/g, EMOJI.awkward],
];

const INVISIBLE = /\p{Cf}|[\uFE00-\uFE0F]|\p{Emoji_Modifier}/gu;
const CONTROL = /[\p{Cc}\u2028\u2029]/gu;
const PICTO = /\p{Extended_Pictographic}/u;

/**
 * Unicode clean-up: NFC, then NFKC (full-width letters, compatibility forms) everywhere except on
 * compatibility jamo (NFKC would turn ㅎ into a conjoining ᄒ that then fuses with a following ㅠ),
 * leftover conjoining jamo to compatibility jamo, invisible characters removed, any space one space.
 */
export function unicodeClean(raw: string): string {
  let s = raw.normalize('NFC');
  s = s.replace(/[^\u3131-\u318e]+/g, (seg) => seg.normalize('NFKC'));
  s = s.replace(/[\u1100-\u11ff]/g, conjoiningToCompat);
  s = s.replace(CONTROL, ' ').replace(INVISIBLE, '');
  return s.replace(/\s+/gu, ' ').trim();
}

/**
 * A run of compatibility jamo: first composes what was typed syllable by syllable (심심ㅎㅐ → 심심해;
 * never with ㅠ/ㅜ/ㅡ, which are faces), then reads the rest as shorthand, laughter or crying.
 */
function readJamoRun(run: string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < run.length) {
    const c = run[i];
    const v = run[i + 1];
    if (LEADS.includes(c) && v !== undefined && isVowelJamo(v) && !'ㅠㅜㅡ'.includes(v)) {
      // A tail only when nothing follows, or what follows cannot start a syllable with it.
      const t = run[i + 2];
      const afterT = run[i + 3];
      const takeTail =
        t !== undefined &&
        isConsonantJamo(t) &&
        TAIL_JAMO.includes(t) &&
        (afterT === undefined || !isVowelJamo(afterT)) &&
        !'ㅋㅎ'.includes(t);
      out.push(composeSyllable(c, v, takeTail ? t : '') ?? c + v);
      i += takeTail ? 3 : 2;
      continue;
    }
    let matched = false;
    for (let len = Math.min(SHORTHAND_MAX, run.length - i); len >= 1 && !matched; len--) {
      const word = SHORTHAND[run.slice(i, i + len).join('')];
      if (word !== undefined) {
        out.push(word);
        i += len;
        matched = true;
      }
    }
    if (matched) continue;
    let j = i;
    if (c === 'ㅋ' || c === 'ㅎ') {
      while (j < run.length && (run[j] === 'ㅋ' || run[j] === 'ㅎ')) j++;
      out.push(` ${EMOJI.laugh} `);
    } else if (c === 'ㅠ' || c === 'ㅜ') {
      while (j < run.length && (run[j] === 'ㅠ' || run[j] === 'ㅜ')) j++;
      out.push(` ${EMOJI.sad} `);
    } else if (c === 'ㅡ' && run[i + 1] === 'ㅡ') {
      while (j < run.length && run[j] === 'ㅡ') j++;
      out.push(` ${EMOJI.annoyed} `);
    } else {
      j = i + 1;
      out.push(c);
    }
    i = j;
  }
  // ㅋㅋㅋ is one laugh, ㄳㄳㄳ at most "감사감사".
  return collapseRepeatedWords(out).join('');
}

function collapseRepeatedWords(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const n = out.length;
    if (p.trim().length > 1 || PICTO.test(p)) {
      if (n >= 1 && out[n - 1] === p && PICTO.test(p)) continue;
      if (n >= 2 && out[n - 1] === p && out[n - 2] === p) continue;
    }
    out.push(p);
  }
  return out;
}

/**
 * The canonical form of a chat message: Unicode-cleaned, lower case, emoticons and jamo shorthand read,
 * emoji grouped by feeling, repeated characters and punctuation collapsed, single spaces.
 * e.g. "ㅎㅇㅎㅇ!!! 반가웡 ^^" → "안녕안녕! 반가웡 😊".
 */
export function normalizeText(raw: string): string {
  let s = unicodeClean(raw).toLowerCase();
  for (const [pattern, emoji] of EMOTICONS) s = s.replace(pattern, ` ${emoji} `);
  s = s.replace(/[\u3131-\u318e]+/g, (run) => readJamoRun([...run]));
  s = s.replace(/\p{Extended_Pictographic}/gu, (e) => ` ${EMOJI_CLASS.get(e) ?? e} `);
  // The same emoji over and over is one emoji.
  s = s.replace(/(\p{Extended_Pictographic})(?:\s*\1)+/gu, '$1');
  // Punctuation runs: "!!!" → "!", "?!?!" → "?!", "~~~" → "~", "..." → ".".
  s = s.replace(/[!?]{2,}/g, (m) => (m.includes('?') && m.includes('!') ? '?!' : m[0]));
  s = s.replace(/([^\p{L}\p{N}\s\p{Extended_Pictographic}])\1+/gu, '$1');
  // Elongations: 3+ of the same character → 2 ("오오오오" → "오오").
  s = s.replace(/(\p{L}|\p{N})\1{2,}/gu, '$1$1');
  s = s.replace(/\s+/g, ' ').replace(/ ([!?.,~])/g, '$1');
  return s.trim();
}

/**
 * Spacing- and punctuation-insensitive key of a message: the normalised text with only letters, digits
 * and emoji left. Two messages with the same key are the same message to the chatbot.
 */
export function compactKey(raw: string): string {
  return [...normalizeText(raw)]
    .filter((ch) => /[\p{L}\p{N}]/u.test(ch) || PICTO.test(ch) || isCompatJamo(ch))
    .join('');
}
