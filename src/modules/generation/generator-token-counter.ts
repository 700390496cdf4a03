import { Inject, Injectable, Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { AppConfig, appConfig } from '../../config/app.config';
import type { TokenCounter } from '../openai/token-counter';
import { GenerationConfig, generationConfig } from './generation.config';

interface Tokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
}

type Loaded = { name: string; tokenizer?: Tokenizer };

/**
 * Counts with the generator's tokenizer (tokenizer.json of GENERATOR_MODEL), loaded once in this thread on
 * first use. Without a generator model it counts Unicode characters and says so.
 */
@Injectable()
export class GeneratorTokenCounter implements TokenCounter {
  private readonly logger = new Logger('GeneratorTokenCounter');
  private loading?: Promise<Loaded>;

  constructor(
    @Inject(generationConfig.KEY) private readonly config: GenerationConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {}

  async unit(): Promise<string> {
    return (await this.load()).name;
  }

  async count(text: string): Promise<number> {
    const { tokenizer } = await this.load();
    return tokenizer ? tokenizer.encode(text, { add_special_tokens: false }).length : [...text].length;
  }

  async truncate(text: string, max: number): Promise<string> {
    const { tokenizer } = await this.load();
    if (!tokenizer) return [...text].slice(0, max).join('');
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    return ids.length <= max ? text : tokenizer.decode(ids.slice(0, max), { skip_special_tokens: true });
  }

  private load(): Promise<Loaded> {
    this.loading ??= this.open().catch((err: unknown) => {
      this.logger.warn({ err }, 'the generator tokenizer could not be read; counting characters');
      return { name: 'characters' };
    });
    return this.loading;
  }

  private async open(): Promise<Loaded> {
    const model = this.config.GENERATOR_MODEL;
    const folder = path.resolve(this.app.MODELS_DIR, model);
    if (model === 'none' || !existsSync(path.join(folder, 'tokenizer.json'))) return { name: 'characters' };
    // Built from the files rather than AutoTokenizer: no global env.localModelPath to race the encoder over.
    const read = async (f: string) => JSON.parse(await fs.readFile(path.join(folder, f), 'utf8')) as object;
    const config = existsSync(path.join(folder, 'tokenizer_config.json'))
      ? await read('tokenizer_config.json')
      : {};
    const { PreTrainedTokenizer } = await import('@huggingface/transformers');
    const tokenizer = new PreTrainedTokenizer(await read('tokenizer.json'), config);
    return { name: `${path.basename(folder)} tokenizer`, tokenizer: tokenizer as unknown as Tokenizer };
  }
}
