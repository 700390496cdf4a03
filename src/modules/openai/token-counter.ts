/**
 * The port the OpenAI-compatible API counts `usage` and applies `max_tokens` through. The generation module
 * binds it to the generator's own tokenizer, so the counts are the model's tokens.
 */
export const TOKEN_COUNTER = Symbol('TOKEN_COUNTER');

export interface TokenCounter {
  /** What a unit is: the tokenizer's name, or "characters" when no tokenizer is available. */
  unit(): Promise<string>;
  count(text: string): Promise<number>;
  /** The longest start of `text` of at most `max` tokens (the whole text when it fits). */
  truncate(text: string, max: number): Promise<string>;
}
