/**
 * Signs that a generated Korean reply is malformed, each with its penalty (in the units of the mean token
 * log-probability, so 1.0 is as bad as every token being e times less likely). Pure functions: no model.
 */
export interface QualityIssue {
  issue: string;
  penalty: number;
}

/** Syllables that end a Korean sentence (final endings: -요, -다, -까, -죠, -네, -지, -어/아, -야, -자 …). */
const FINAL_SYLLABLES = new Set([...'요다까죠네지어아야자게래걸니군나가고데셈음임함됨든봐줘해워와서여랴']);
const TRAILING = /[\s.!?~…,^♡♥❤"'”’)\]}>ㅋㅎㅠㅜ\p{Extended_Pictographic}\uFE0F\u200d]+$/u;
const HANGUL = /[가-힣]/g;
const PAIRS: [string, string][] = [
  ['(', ')'],
  ['[', ']'],
  ['{', '}'],
  ['「', '」'],
  ['“', '”'],
];

export function qualityIssues(reply: string, message: string): QualityIssue[] {
  const issues: QualityIssue[] = [];
  const text = reply.trim();
  const hangul = text.match(HANGUL)?.length ?? 0;
  if (hangul < 2) issues.push({ issue: 'no Korean sentence', penalty: 3 });
  const core = text.replace(TRAILING, '');
  const last = core.at(-1) ?? '';
  if (hangul >= 2 && !FINAL_SYLLABLES.has(last))
    issues.push({ issue: 'no sentence-final ending', penalty: 1.5 });
  for (const [open, close] of PAIRS)
    if (text.split(open).length !== text.split(close).length)
      issues.push({ issue: `unbalanced ${open}${close}`, penalty: 1.5 });
  if ((text.match(/"/g)?.length ?? 0) % 2 === 1) issues.push({ issue: 'unbalanced quotes', penalty: 1 });
  if (/\uFFFD/.test(text)) issues.push({ issue: 'broken character', penalty: 3 });
  if (/^[\s\p{P}\p{S}]/u.test(text)) issues.push({ issue: 'starts with a fragment', penalty: 1 });
  if (/([.!?,~])\1{3,}|[.!?,]\s*[.!?,]\s*[.!?,]\s*[.!?,]/.test(text))
    issues.push({ issue: 'punctuation run', penalty: 0.5 });
  if (repeatedNgram(text, 3)) issues.push({ issue: 'repeated phrase', penalty: 1.5 });
  const squash = (s: string) => s.replace(/[^가-힣A-Za-z0-9]/g, '');
  const r = squash(text);
  const m = squash(message);
  if (r.length >= 4 && m.length >= 4 && (r.includes(m) || m.includes(r)))
    issues.push({ issue: "copies the user's message", penalty: 2 });
  return issues;
}

/** Whether some word n-gram (or, for short texts, a syllable 4-gram) occurs twice. */
function repeatedNgram(text: string, n: number): boolean {
  const words = text.split(/\s+/).filter(Boolean);
  const seen = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(' ');
    if (seen.has(g)) return true;
    seen.add(g);
  }
  const syl = text.replace(/[^가-힣]/g, '');
  const grams = new Set<string>();
  for (let i = 0; i + 4 <= syl.length; i++) {
    const g = syl.slice(i, i + 4);
    if (grams.has(g)) return true;
    grams.add(g);
  }
  return false;
}
