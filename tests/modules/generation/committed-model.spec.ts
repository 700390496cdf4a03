import { INestApplication } from '@nestjs/common';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TextGenerator } from '../../../src/modules/generation/text-generator';
import { REPO_ROOT } from '../../support/app';
import { bootGeneration } from '../../support/generation-fixture';

const MODELS = path.join(REPO_ROOT, 'models');
const MODEL = 'ko-chat-gpt2';

interface Samples {
  samples: { text: string; ids: number[]; decoded: string }[];
}
interface Reference {
  eos_token_id: number;
  max_new_tokens: number;
  references: { prompt: string; prompt_ids: number[]; greedy_ids: number[]; greedy_text: string }[];
}

/** The committed model (models/ko-chat-gpt2) as the training script saved it, read by the Node code. */
describe('committed ko-chat-gpt2 model', () => {
  it('tokenizes exactly as the Python tokenizer did (ids and decoded text)', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = MODELS;
    const tokenizer = await AutoTokenizer.from_pretrained(MODEL, { local_files_only: true });
    const { samples } = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'training/gpt2/tokenizer_parity_samples.json'), 'utf8'),
    ) as Samples;
    expect(samples.length).toBeGreaterThan(100);
    for (const s of samples) {
      // transformers.js refuses to encode or decode nothing; Python's answer for "" is [].
      const ids = s.text === '' ? [] : tokenizer.encode(s.text, { add_special_tokens: false });
      expect({ text: s.text, ids }).toEqual({ text: s.text, ids: s.ids });
      if (s.ids.length > 0) expect(tokenizer.decode(s.ids, { skip_special_tokens: true })).toBe(s.decoded);
    }
  });

  describe('served by TextGenerator', () => {
    let app: INestApplication;
    let reference: Reference;
    beforeAll(async () => {
      reference = JSON.parse(readFileSync(path.join(MODELS, MODEL, 'reference_greedy.json'), 'utf8'));
      app = await bootGeneration({ MODELS_DIR: MODELS, GENERATOR_MODEL: MODEL });
    }, 60_000);
    afterAll(() => app?.close());

    it('gives the greedy ids PyTorch gave with its KV cache, for every reference prompt', async () => {
      const gen = app.get(TextGenerator);
      for (const r of reference.references) {
        const out = await gen.generate({
          message: r.prompt,
          options: {
            temperature: 0,
            repetition_penalty: 1,
            no_repeat_ngram_size: 0,
            max_new_tokens: reference.max_new_tokens,
          },
        });
        expect({ prompt: r.prompt, ids: out.ids }).toEqual({
          prompt: r.prompt,
          ids: r.greedy_ids.filter((id) => id !== reference.eos_token_id),
        });
        expect(out.text).toBe(r.greedy_text.trim());
      }
    });

    it('greets "안녕하세요" back (the service answers it from the corpus, ending in thanks; see the chat e2e tests)', async () => {
      const out = await app.get(TextGenerator).generate({
        message: '안녕하세요',
        options: { temperature: 0, repetition_penalty: 1, no_repeat_ngram_size: 0 },
      });
      expect(out.text).toMatch(/안녕|반가/);
    });
  });
});
