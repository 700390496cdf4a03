import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ChatTurn } from '../chat/chat.types';
import { chatConfig, ChatConfig } from '../chat/chat.config';
import { replyTokens } from '../chat/reply/reply-tokens';
import { ChatService, Completion, FinishReason } from '../chat/chat.service';
import { MAX_MESSAGE_CHARS, VISIBLE } from '../chat/dto/chat.dto';
import { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import { OpenAiConfig, openAiConfig } from './openai.config';
import { ChatCompletion, ChatCompletionChunk, KoChatExtension, ModelObject, Usage } from './openai.types';
import { StopSequences } from './stop-sequences';
import { TOKEN_COUNTER, TokenCounter } from './token-counter';

/** The most new tokens a generated answer may have, whatever max_tokens says (GENERATOR_MAX_NEW_TOKENS caps it too). */
const GENERATION_CAP = 512;

/** What a request asks for, once checked. */
interface Asked {
  message: string;
  history: ChatTurn[];
  maxTokens?: number;
  stops: StopSequences;
  body: ChatCompletionRequestDto;
}

/**
 * OpenAI's Chat Completions over the chat policy: the conversation comes from `messages` (no server
 * session), the answer is retrieval, generation or a fallback as for POST /chat, and `ko_chat` says which.
 */
@Injectable()
export class ChatCompletionsService {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly chat: ChatService,
    @Inject(openAiConfig.KEY) private readonly config: OpenAiConfig,
    @Inject(chatConfig.KEY) private readonly chatSettings: ChatConfig,
    @Inject(TOKEN_COUNTER) private readonly tokens: TokenCounter,
  ) {}

  models(): ModelObject[] {
    return [
      { id: this.config.OPENAI_MODEL_ID, object: 'model', created: this.created, owned_by: 'ko-ai-server' },
    ];
  }

  model(id: string): ModelObject {
    const found = this.models().find((m) => m.id === id);
    if (!found) throw this.unknownModel(id);
    return found;
  }

  async complete(body: ChatCompletionRequestDto, signal: AbortSignal): Promise<ChatCompletion> {
    const asked = this.check(body);
    const answer = await this.chat.complete(asked.message, asked.history, {
      signal,
      generation: this.generation(asked),
    });
    const { text, finish } = await this.cut(answer, asked);
    return {
      ...this.envelope('chatcmpl'),
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
      ],
      usage: await this.usage(body, text),
      ko_chat: await this.extension(answer),
    };
  }

  /**
   * Streams chunks through `send`: the role, then the content piece by piece (generated tokens as they are
   * sent, a corpus answer word by word), then the finish reason, then usage when asked. Nothing is sent
   * before the answer has begun, so a refusal (429, 503) is still an ordinary error response.
   */
  async stream(
    body: ChatCompletionRequestDto,
    signal: AbortSignal,
    send: (chunk: ChatCompletionChunk) => void,
  ): Promise<void> {
    const asked = this.check(body);
    const head = this.envelope('chatcmpl');
    const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null = null) =>
      send({
        ...head,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
    let started = false;
    let sent = '';
    const emit = (piece: string) => {
      if (!started) chunk({ role: 'assistant', content: '' });
      started = true;
      if (piece.length === 0) return;
      sent += piece;
      chunk({ content: piece });
    };
    let streamed = 0;
    const answer = await this.chat.complete(asked.message, asked.history, {
      signal,
      generation: this.generation(asked),
      onToken: (piece) => {
        streamed++;
        if (!signal.aborted) emit(asked.stops.push(piece));
      },
    });
    if (signal.aborted) return;
    let finish: FinishReason;
    if (streamed > 0) {
      emit(asked.stops.flush());
      finish = asked.stops.stopped ? 'stop' : answer.finish;
    } else {
      const cut = await this.cut(answer, asked);
      emit('');
      replyTokens(cut.text).forEach(emit);
      finish = cut.finish;
    }
    send({
      ...head,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }],
      ko_chat: await this.extension(answer),
    });
    if (body.stream_options?.include_usage)
      send({ ...head, object: 'chat.completion.chunk', choices: [], usage: await this.usage(body, sent) });
  }

  /** The checks class-validator cannot express: the model, and a conversation that ends with the user. */
  private check(body: ChatCompletionRequestDto): Asked {
    if (body.model !== this.config.OPENAI_MODEL_ID) throw this.unknownModel(body.model);
    const last = body.messages[body.messages.length - 1];
    if (last.role !== 'user')
      throw new BadRequestException({
        message: `The last message must have role "user" (it is "${last.role}").`,
        param: 'messages',
      });
    if (!VISIBLE.test(last.content) || [...last.content].length > MAX_MESSAGE_CHARS)
      throw new BadRequestException({
        message: `The last user message must be 1 to ${MAX_MESSAGE_CHARS} characters, not only spaces or invisible characters.`,
        param: 'messages',
      });
    const stops = body.stop === undefined ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
    return {
      message: last.content,
      history: this.history(body.messages.slice(0, -1)),
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      stops: new StopSequences(stops),
      body,
    };
  }

  /** User and assistant messages as turns, oldest first; the newest CHAT_HISTORY_TURNS are kept. */
  private history(messages: ChatCompletionRequestDto['messages']): ChatTurn[] {
    const turns: ChatTurn[] = [];
    const at = new Date().toISOString();
    for (const m of messages) {
      if (m.role === 'user') turns.push({ user: m.content, bot: '', source: 'generation', intent: null, at });
      else if (m.role === 'assistant') {
        const open = turns.at(-1);
        if (open && open.bot === '') open.bot = m.content;
        else turns.push({ user: '', bot: m.content, source: 'generation', intent: null, at });
      }
    }
    return turns.slice(-this.chatSettings.CHAT_HISTORY_TURNS);
  }

  private generation(asked: Asked) {
    const b = asked.body;
    return {
      ...(asked.maxTokens !== undefined && { max_new_tokens: Math.min(asked.maxTokens, GENERATION_CAP) }),
      ...(b.temperature !== undefined && { temperature: b.temperature }),
      ...(b.top_p !== undefined && { top_p: b.top_p }),
      ...(b.seed !== undefined && { seed: b.seed }),
    };
  }

  /** The answer cut at the first stop sequence, then at max_tokens. */
  private async cut(answer: Completion, asked: Asked): Promise<{ text: string; finish: FinishReason }> {
    const stopped = asked.stops.apply(answer.reply);
    if (stopped !== answer.reply) return { text: stopped, finish: 'stop' };
    if (asked.maxTokens === undefined) return { text: answer.reply, finish: answer.finish };
    const text = await this.tokens.truncate(answer.reply, asked.maxTokens);
    return { text, finish: text !== answer.reply ? 'length' : answer.finish };
  }

  private async usage(body: ChatCompletionRequestDto, completion: string): Promise<Usage> {
    let prompt = 0;
    for (const m of body.messages) prompt += await this.tokens.count(m.content);
    const completionTokens = await this.tokens.count(completion);
    return {
      prompt_tokens: prompt,
      completion_tokens: completionTokens,
      total_tokens: prompt + completionTokens,
    };
  }

  private async extension(a: Completion): Promise<KoChatExtension> {
    return {
      source: a.source,
      intent: a.intent,
      score: a.score,
      matched: a.matched,
      reason: a.reason,
      latencyMs: a.latencyMs,
      usageUnit: await this.tokens.unit(),
    };
  }

  private envelope(prefix: string) {
    return {
      id: `${prefix}-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: this.config.OPENAI_MODEL_ID,
      system_fingerprint: null,
    };
  }

  private unknownModel(id: string): NotFoundException {
    return new NotFoundException({
      message: `The model "${id}" does not exist; GET /v1/models lists "${this.config.OPENAI_MODEL_ID}".`,
      param: 'model',
      code: 'model_not_found',
    });
  }
}
