import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseChatbotDataCsv } from '../../../../src/modules/chat/corpus/corpus-loader';
import { compactKey } from '../../../../src/modules/chat/text/normalize';
import { REPO_ROOT } from '../../../support/app';
import { CHATBOT_DATA } from '../../../support/chat-fixtures';

const read = <T>(file: string): T[] =>
  readFileSync(path.join(REPO_ROOT, 'corpus', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

const corpus = read<{ q: string; intent: string }>('ko-smalltalk.jsonl');
const anchors = read<{ q: string; kind: string }>('out-of-scope.jsonl');
const easy = read<{ q: string; intent: string }>('eval/ko-smalltalk.eval.jsonl');
const hard = read<{ q: string; intent: string }>('eval/ko-hard.eval.jsonl');
const ood = read<{ q: string; kind: string }>('eval/ko-ood.eval.jsonl');
const prompts = read<{ q: string }>('eval/ko-generation-prompts.jsonl');

/**
 * Syllable bigrams of particles, endings, pronouns and intensifiers: the only Hangul bigrams a hard
 * paraphrase may share with the corpus questions of its intent.
 */
const STOP = new Set(
  '해요 어요 아요 세요 에요 예요 니다 습니 합니 됩니 입니 있습 없습 했어 했다 해서 해도 해줘 해주 주세 줘요 하고 하는 하다 하면 하게 하지 하네 하니 한테 에게 께서 이야 거야 거예 건데 는데 은데 던데 인데 같아 같은 같이 싶어 싶다 싶은 있어 없어 있는 없는 있다 없다 있나 없나 있을 없을 이랑 랑은 까요 을까 ㄹ까 나요 는지 은지 인지 지만 라도 이라 라고 다고 냐고 하냐 어서 아서 어도 아도 으면 려고 려면 려나 네요 군요 더라 구나 잖아 았어 었어 겠어 겠다 보다 봐요 봤어 지요 죠요 나는 내가 제가 저는 저도 나도 너는 너도 니가 네가 우리 저희 당신 그냥 진짜 정말 너무 완전 엄청 오늘 요즘 이제 지금 근데 그래 그거 이거 저거 뭐야 뭔가 어떻 어떡 어떤 무슨 언제 어디 누가 왜케 왜이 이렇 그렇 저렇 '
    .split(' ')
    .filter(Boolean),
);

/** Two adjacent Hangul syllables within one word (a run of Hangul syllables). */
function bigrams(text: string): Set<string> {
  const out = new Set<string>();
  for (const run of text.match(/[가-힣]+/g) ?? [])
    for (let i = 0; i + 1 < run.length; i++) if (!STOP.has(run.slice(i, i + 2))) out.add(run.slice(i, i + 2));
  return out;
}

describe('the chat eval sets (corpus/eval/)', () => {
  it('hard: at least 200 paraphrases over every intent, none sharing a content bigram with its intent’s corpus questions', () => {
    expect(hard.length).toBeGreaterThanOrEqual(200);
    const byIntent = new Map<string, Set<string>>();
    for (const r of corpus) {
      const set = byIntent.get(r.intent) ?? new Set<string>();
      for (const b of bigrams(r.q)) set.add(b);
      byIntent.set(r.intent, set);
    }
    expect(new Set(hard.map((r) => r.intent))).toEqual(new Set(byIntent.keys()));
    const shared = hard
      .map((r) => ({
        q: r.q,
        intent: r.intent,
        shared: [...bigrams(r.q)].filter((b) => byIntent.get(r.intent)!.has(b)),
      }))
      .filter((r) => r.shared.length > 0);
    expect(shared).toEqual([]);
  });

  it('ood: at least 150 requests the bot must decline, of several kinds', () => {
    expect(ood.length).toBeGreaterThanOrEqual(150);
    expect(new Set(ood.map((r) => r.kind)).size).toBeGreaterThanOrEqual(5);
  });

  it('no eval message is a training line: not in the corpus, nor among the out-of-scope anchors (normalised)', () => {
    const trained = new Set([...corpus, ...anchors].map((r) => compactKey(r.q)));
    for (const set of [hard, ood, prompts]) {
      const leaked = set.filter((r) => trained.has(compactKey(r.q))).map((r) => r.q);
      expect(leaked).toEqual([]);
    }
    // The easy set predates the shorthand normaliser: it is kept apart from the corpus by letters and digits
    // (so ㅎㅇㅎㅇ in the corpus and 안녕안녕 in the set are different lines, though they normalise alike).
    const letters = (q: string) => q.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
    const corpusLetters = new Set(corpus.map((r) => letters(r.q)));
    expect(easy.filter((r) => corpusLetters.has(letters(r.q))).map((r) => r.q)).toEqual([]);
  });

  it('the small-talk prompts are in no training file of the generator (our corpus, ChatbotData)', () => {
    expect(prompts.length).toBeGreaterThanOrEqual(100);
    const chatbot = existsSync(CHATBOT_DATA)
      ? parseChatbotDataCsv(readFileSync(CHATBOT_DATA, 'utf8'), 'ChatbotData.csv').map((e) => compactKey(e.q))
      : [];
    const trained = new Set([...corpus.map((r) => compactKey(r.q)), ...chatbot]);
    expect(prompts.filter((p) => trained.has(compactKey(p.q))).map((p) => p.q)).toEqual([]);
  });
});
