import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CorpusError,
  loadCorpus,
  loadCorpusFile,
  parseChatbotDataCsv,
  parseJsonl,
} from '../../../src/modules/chat/corpus/corpus-loader';
import { CHATBOT_DATA, OUR_CORPUS, OUR_CORPUS_SIZE, OUR_INTENTS } from '../../support/chat-fixtures';

/** The intents of the first corpus, which every later corpus keeps. */
const ORIGINAL_INTENTS = [
  'greeting',
  'farewell',
  'thanks',
  'apology',
  'how_are_you',
  'bot_identity',
  'help',
  'good_night',
  'compliment',
  'meal',
  'weather',
  'encouragement',
  'joke',
  'good_morning',
  'bored',
];

describe('corpus loader', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chat-corpus-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads our JSONL corpus: at least 3,000 entries in at least 60 intents (the original 15 among them), every greeting ending in thanks', async () => {
    const f = await loadCorpusFile(OUR_CORPUS);
    expect(f).toMatchObject({ name: 'ko-smalltalk.jsonl', format: 'jsonl', intentAnswers: true });
    expect(f.entries).toHaveLength(OUR_CORPUS_SIZE);
    expect(f.entries.length).toBeGreaterThanOrEqual(3000);
    const intents = new Set(f.entries.map((e) => e.intent));
    expect(intents.size).toBeGreaterThanOrEqual(60);
    for (const original of ORIGINAL_INTENTS) expect(intents).toContain(original);
    const greetings = f.entries.filter((e) => e.intent === 'greeting');
    expect(greetings).toHaveLength(OUR_INTENTS.greeting);
    for (const g of greetings) expect(g.a).toMatch(/감사합니다[.!]$/);
    expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('imports the real ChatbotData.csv: 11,823 rows, CRLF, quoted fields, labels mapped to intents', async () => {
    const f = await loadCorpusFile(CHATBOT_DATA);
    expect(f).toMatchObject({ name: 'ChatbotData.csv', format: 'chatbotdata-csv', intentAnswers: false });
    expect(f.entries).toHaveLength(11823);
    const counts: Record<string, number> = {};
    for (const e of f.entries) counts[e.intent] = (counts[e.intent] ?? 0) + 1;
    expect(counts).toEqual({ smalltalk: 5290, breakup: 3570, love: 2963 });
    expect(f.entries[0]).toEqual({
      q: '12시 땡!',
      a: '하루가 또 가네요.',
      intent: 'smalltalk',
      source: 'ChatbotData.csv',
    });
    // The row whose label is "2   " (trailing spaces).
    expect(f.entries.find((e) => e.q === '여지를 준 짝녀 버려야겠죠.')?.intent).toBe('love');
    // No line ends or quotes leak into fields; quoted fields keep their commas.
    expect(f.entries.some((e) => /[\r\n]/.test(e.q + e.a))).toBe(false);
    expect(f.entries.some((e) => e.q.includes(',') || e.a.includes(','))).toBe(true);
    expect(f.entries.some((e) => e.q.startsWith('"'))).toBe(false);
  });

  it('loads several files in order, with one hash over all of them', async () => {
    const both = await loadCorpus(path.dirname(OUR_CORPUS), [OUR_CORPUS, CHATBOT_DATA]);
    expect(both.entries).toHaveLength(OUR_CORPUS_SIZE + 11823);
    expect(both.entries[0].source).toBe('ko-smalltalk.jsonl');
    expect(both.entries[OUR_CORPUS_SIZE].source).toBe('ChatbotData.csv');
    const ours = await loadCorpus(path.dirname(OUR_CORPUS), ['ko-smalltalk.jsonl']);
    expect(ours.sha256).not.toBe(both.sha256);
  });

  it('maps an unknown label and accepts a BOM and LF line ends', () => {
    const rows = parseChatbotDataCsv('\uFEFFQ,A,label\n"안녕, 친구",반가워,0\n뭐해,그냥 있어,7\n', 't.csv');
    expect(rows).toEqual([
      { q: '안녕, 친구', a: '반가워', intent: 'smalltalk', source: 't.csv' },
      { q: '뭐해', a: '그냥 있어', intent: 'label_7', source: 't.csv' },
    ]);
  });

  it('says which file and line are wrong', async () => {
    expect(() =>
      parseJsonl('{"q":"a","a":"b","intent":"c"}\n{"q": "x", "intent": "y"}\n', 'x.jsonl'),
    ).toThrow('x.jsonl line 2 needs a non-empty string "a"');
    expect(() => parseJsonl('{"q":"a","a":"b","intent":"c"}\n\n{oops\n', 'x.jsonl')).toThrow(
      'x.jsonl line 3 is not valid JSON',
    );
    expect(() => parseJsonl('\n\n', 'x.jsonl')).toThrow('corpus file x.jsonl has no entries');
    expect(() => parseChatbotDataCsv('question,answer\n가,나\n', 'y.csv')).toThrow(
      'y.csv needs a header row with the columns Q,A,label',
    );
    expect(() => parseChatbotDataCsv('Q,A,label\n가,,0\n', 'y.csv')).toThrow(
      'y.csv row 2 has an empty Q or A',
    );
    expect(() => parseChatbotDataCsv('Q,A,label\n"가,나,0\n', 'y.csv')).toThrow(CorpusError);

    writeFileSync(path.join(dir, 'corpus.txt'), 'hello');
    await expect(loadCorpusFile(path.join(dir, 'corpus.txt'))).rejects.toThrow('has an unknown format');
    await expect(loadCorpusFile(path.join(dir, 'nope.jsonl'))).rejects.toThrow(/does not exist/);
    await expect(loadCorpus(dir, [OUR_CORPUS, OUR_CORPUS])).rejects.toThrow('listed twice');
    await expect(loadCorpus(dir, [])).rejects.toThrow('no corpus file is configured');
  });
});
