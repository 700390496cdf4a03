import { PreTrainedTokenizer } from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import request from 'supertest';
import { REPO_ROOT, startApp, TestApp } from '../../support/app';

/**
 * The OpenAI-compatible API driven by the real `openai` client, over the real chat policy, the committed
 * generator and its tokenizer.
 */
describe('OpenAI-compatible API with the openai client', () => {
  let t: TestApp;
  let client: OpenAI;
  const GPT2 = path.join(REPO_ROOT, 'models', 'ko-chat-gpt2');
  const tokenizer = new PreTrainedTokenizer(
    JSON.parse(readFileSync(path.join(GPT2, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(path.join(GPT2, 'tokenizer_config.json'), 'utf8')),
  );
  const count = (s: string) => tokenizer.encode(s, { add_special_tokens: false }).length;
  // Far from every corpus question: with the n-gram embedder and no out-of-scope anchors, the generator answers.
  const UNMATCHED = '블록체인 합의 알고리즘의 장단점을 비교해 줄래';
  const user = (content: string) => ({ role: 'user' as const, content });

  beforeAll(async () => {
    t = await startApp({
      GENERATOR_WORKERS: '1',
      GENERATOR_MAX_QUEUE: '0',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
      CHAT_RATE_LIMIT_PER_MIN: '0',
      CHAT_EMBEDDER: 'hashed-ngram',
      CHAT_OUT_OF_SCOPE_FILE: 'none',
      CHAT_REPLY_GATE: '-100',
    });
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('lists the chat model and retrieves it; an unknown one is a NotFoundError', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models).toEqual([
      expect.objectContaining({ id: 'ko-chat', object: 'model', owned_by: 'ko-ai-server' }),
    ]);
    expect((await client.models.retrieve('ko-chat')).id).toBe('ko-chat');
    await expect(client.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers "안녕하세요" with a greeting ending in 감사합니다, usage in the generator tokenizer', async () => {
    const res = await client.chat.completions.create({ model: 'ko-chat', messages: [user('안녕하세요')] });
    const content = res.choices[0].message.content!;
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    expect(content).toMatch(/감사합니다[.!~]*$/u);
    expect(res.usage).toEqual({
      prompt_tokens: count('안녕하세요'),
      completion_tokens: count(content),
      total_tokens: count('안녕하세요') + count(content),
    });
    expect((res as unknown as { ko_chat: unknown }).ko_chat).toMatchObject({
      source: 'retrieval',
      intent: 'greeting',
      matched: '안녕하세요',
      usageUnit: 'ko-chat-gpt2 tokenizer',
    });
  });

  it('streams chunks: the role, the words, the finish reason, usage when asked, then [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'ko-chat',
      messages: [user('안녕하세요')],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(2);
    expect(text).toMatch(/감사합니다[.!~]*$/u);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: count('안녕하세요'), completion_tokens: count(text) });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('takes the conversation from messages: the history changes the answer and the prompt count', async () => {
    const first = await client.chat.completions.create({ model: 'ko-chat', messages: [user('안녕하세요')] });
    const said = first.choices[0].message.content!;
    for (let i = 0; i < 4; i++) {
      const again = await client.chat.completions.create({
        model: 'ko-chat',
        messages: [
          { role: 'system', content: '친절하게 답해 주세요.' },
          user('안녕하세요'),
          { role: 'assistant', content: said },
          user('안녕하세요'),
        ],
      });
      // The policy varies its answer against the bot's recent turns, which now come from `messages`.
      expect(again.choices[0].message.content).not.toBe(said);
      expect(again.usage!.prompt_tokens).toBe(
        count('친절하게 답해 주세요.') + 2 * count('안녕하세요') + count(said),
      );
    }
  });

  it('cuts at a stop sequence and at max_tokens, saying which', async () => {
    const stopped = await client.chat.completions.create({
      model: 'ko-chat',
      messages: [user('안녕하세요')],
      stop: ['감사'],
    });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].message.content).not.toMatch(/감사/);
    const short = await client.chat.completions.create({
      model: 'ko-chat',
      messages: [user('안녕하세요')],
      max_completion_tokens: 3,
    });
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.usage!.completion_tokens).toBeLessThanOrEqual(3);
  });

  it('generates an answer for an unmatched message, streamed token by token, with the sampling settings', async () => {
    const res = await client.chat.completions.create({
      model: 'ko-chat',
      messages: [user(UNMATCHED)],
      max_tokens: 12,
      temperature: 0.9,
      seed: 7,
    });
    expect((res as unknown as { ko_chat: { source: string } }).ko_chat.source).toBe('generation');
    expect(res.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(13);

    const stream = await client.chat.completions.create({
      model: 'ko-chat',
      messages: [user(UNMATCHED)],
      max_tokens: 12,
      stream: true,
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(0);
    const done = chunks.at(-1) as unknown as {
      ko_chat: { source: string };
      choices: { finish_reason: string }[];
    };
    expect(done.ko_chat.source).toBe('generation');
    expect(['stop', 'length']).toContain(done.choices[0].finish_reason);
  });

  it('refuses bad bodies with OpenAI-shaped 400s that the client raises as BadRequestError', async () => {
    const bad = async (body: Record<string, unknown>) => {
      try {
        await client.chat.completions.create(body as never);
      } catch (err) {
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        const e = err as InstanceType<typeof OpenAI.BadRequestError>;
        expect(e.status).toBe(400);
        expect(e.type).toBe('invalid_request_error');
        return e.param;
      }
      throw new Error('expected a 400');
    };
    expect(await bad({ model: 'ko-chat', messages: [] })).toBe('messages');
    expect(await bad({ model: 'ko-chat', messages: [user('안녕')], n: 2 })).toBe('n');
    expect(await bad({ model: 'ko-chat', messages: [{ role: 'robot', content: '안녕' }] })).toBe(
      'messages.0.role',
    );
    expect(
      await bad({ model: 'ko-chat', messages: [user('안녕'), { role: 'assistant', content: '네' }] }),
    ).toBe('messages');
    expect(await bad({ model: 'ko-chat', messages: [user('\u200b\u200b')] })).toBe('messages');
    expect(await bad({ model: 'ko-chat', messages: [user('안녕')], temperature: 5 })).toBe('temperature');
    expect(await bad({ model: 'ko-chat', messages: [user('안녕')], tools: [] })).toBe('tools');
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [user('안녕')] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  it('answers everything under /v1/ in the OpenAI error shape: a body that is not JSON, an unknown route', async () => {
    const notJson = await request(t.url)
      .post('/v1/chat/completions')
      .set('Content-Type', 'application/json')
      .send('{"model": "ko-chat", messages')
      .expect(400);
    expect(notJson.body).toEqual({
      error: {
        message: expect.stringMatching(/JSON/),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    const unknown = await request(t.url).post('/v1/embeddings').send({ input: '안녕' }).expect(404);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });
    // The rest of the API keeps the service's own shape.
    const own = await request(t.url)
      .post('/chat')
      .set('Content-Type', 'application/json')
      .send('{bad')
      .expect(400);
    expect(own.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('aborting mid-stream frees the only generator slot for the next request', async () => {
    const controller = new AbortController();
    const started = client.chat.completions.create(
      { model: 'ko-chat', messages: [user(UNMATCHED)], max_tokens: 64, stream: true },
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 150));
    controller.abort();
    await expect(
      started.then(async (s) => {
        for await (const _ of s);
      }),
    ).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    // One worker and no queue: the next generation is served only once the aborted one has let go.
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const res = await client.chat.completions.create({
          model: 'ko-chat',
          messages: [user(UNMATCHED)],
          max_tokens: 4,
        });
        expect(res.choices[0].message.content!.length).toBeGreaterThan(0);
        break;
      } catch (err) {
        if (!(err instanceof OpenAI.RateLimitError) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it('a saturated generator is a RateLimitError with Retry-After; retrieval keeps answering', async () => {
    const burst = Array.from({ length: 4 }, () =>
      client.chat.completions.create({ model: 'ko-chat', messages: [user(UNMATCHED)], max_tokens: 48 }).then(
        () => 'ok',
        (err: unknown) => err,
      ),
    );
    const greeting = client.chat.completions.create({ model: 'ko-chat', messages: [user('안녕하세요')] });
    const results = await Promise.all(burst);
    const limited = results.filter((r) => r instanceof OpenAI.RateLimitError) as InstanceType<
      typeof OpenAI.RateLimitError
    >[];
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited[0].type).toBe('rate_limit_error');
    expect(results).toContain('ok');
    expect((await greeting).choices[0].message.content).toMatch(/감사합니다/);
  });
});
