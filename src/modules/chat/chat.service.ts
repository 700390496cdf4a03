import { HttpException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { Subject } from 'rxjs';
import { MetricsService } from '../metrics/metrics.service';
import { ModelRegistry } from '../models/model-registry';
import { CHAT_GENERATOR, ChatGenerator, GenerationOverrides } from './chat-generator';
import { ChatSource, ChatTurn } from './chat.types';
import { RETRIEVAL_MODEL, ChatRetrievalService } from './chat-retrieval.service';
import { calibration, ChatConfig, chatConfig } from './chat.config';
import { decide, FallbackReason, PolicyCalibration } from './policy/reply-policy';
import { passesGate, rankReplies } from './reply/reply-chooser';
import { Retrieval, RetrievalHit } from './retrieval';
import { SESSION_LOCK, SessionLock } from './session/session-lock';
import { SESSION_STORE, SessionStore } from './session/session-store';

/** What every chat answer looks like, over REST, SSE and socket.io. */
export interface ChatReply {
  reply: string;
  sessionId: string;
  source: ChatSource;
  /** Intent of the matched corpus entry; null unless source is "retrieval". */
  intent: string | null;
  /** Cosine similarity of the match (4 decimals); null unless source is "retrieval". */
  score: number | null;
  /** The corpus question that matched; null unless source is "retrieval". */
  matched: string | null;
  /** Why the bot fell back (out_of_scope, no_generator, generator_failed, low_quality); null otherwise. */
  reason: FallbackReason | null;
  latencyMs: number;
}

export interface ReplyOptions {
  sessionId?: string;
  /** Aborted when the client goes away; passed to the generator. */
  signal?: AbortSignal;
  /** Receives generated text as it comes (generation only). */
  onToken?: (text: string, index: number) => void;
  /** Sampling settings for a generated answer. */
  generation?: GenerationOverrides;
}

export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Why an answer ended: complete, or cut at the token limit (generation only). */
export type FinishReason = 'stop' | 'length';

/** An answer to a conversation the caller holds (no server session): see ChatService.complete. */
export type Completion = Omit<ChatReply, 'sessionId'> & { finish: FinishReason };

type Answer = Omit<ChatReply, 'sessionId' | 'latencyMs'> & { finish: FinishReason };

/** A turn appended to a session's history, by any transport (see ChatService.turns). */
export interface SessionTurnAppended {
  sessionId: string;
  turn: ChatTurn;
}

/** What the bot says to a request outside small talk: that it cannot help, and what it can do. */
export const OUT_OF_SCOPE_REPLIES = [
  '죄송해요, 그건 제가 도와드릴 수 없는 요청이에요. 저는 일상 대화(안부, 기분, 식사, 날씨, 일과 공부, 취미 이야기)를 나누고, 손글씨 숫자 인식(MNIST)과 사진 속 얼굴 모자이크를 할 수 있어요.',
  '아쉽지만 그런 질문이나 작업은 제가 할 수 없어요. 인터넷 검색이나 실시간 정보도 없고요. 대신 가벼운 수다, 손글씨 숫자 인식(MNIST), 얼굴 모자이크는 도와드릴 수 있어요!',
  '그건 제 능력 밖이에요. 정확한 정보가 필요하면 전문 서비스를 이용해 주세요. 저와는 일상 이야기를 나누거나, 손글씨 숫자 인식(MNIST)과 얼굴 모자이크 기능을 써 보실 수 있어요.',
];

/** What the bot says when it has no answer: what it can do, politely. */
export const FALLBACK_REPLIES = [
  '죄송해요, 그 말은 아직 잘 이해하지 못했어요. 저는 인사나 안부, 식사와 날씨 이야기, 농담 같은 가벼운 대화를 할 수 있고, 손글씨 숫자 인식(MNIST)과 얼굴 모자이크도 도와드릴 수 있어요. 다르게 한 번 더 말씀해 주시겠어요?',
  '음, 제가 잘 모르는 이야기예요. 대신 인사, 안부, 날씨, 식사, 농담 같은 일상 대화는 자신 있어요. 손글씨 숫자 인식(MNIST)과 얼굴 모자이크 기능도 있으니 필요하면 말씀해 주세요!',
  '미안해요, 아직 그 질문에는 답을 못 드려요. 가벼운 대화(인사, 안부, 식사, 날씨, 농담)와 손글씨 숫자 인식(MNIST), 얼굴 모자이크는 도와드릴 수 있어요. "도움말"이라고 물어보셔도 좋아요.',
];

/** The generator said nothing. */
class EmptyGeneration extends Error {}

/** A greeting when the corpus has none (it always ends in thanks, as the corpus greetings do). */
const BUILT_IN_GREETING =
  '안녕하세요! 저는 한국어 인사 챗봇이에요. 무엇이든 편하게 말씀해 주세요. 찾아 주셔서 감사합니다.';

/** How many recent bot replies a new answer avoids repeating, when the pool allows. */
const AVOID_RECENT = 3;

/**
 * The chat policy: normalise → embed → FAISS top-k; a match at or above CHAT_MIN_SCORE is answered with one
 * of the answers that fit it (varied within the session); otherwise the generator answers when one is
 * configured and ready, else a polite fallback says what the bot can do.
 */
@Injectable()
export class ChatService {
  private readonly logger = new Logger('ChatService');
  private readonly calibration: PolicyCalibration;
  private readonly replies: Counter<'source'>;
  /**
   * Every turn this instance appends to a session (REST, SSE, socket.io alike), after it is stored. The
   * socket.io gateway relays them to the session's room on every instance.
   */
  readonly turns = new Subject<SessionTurnAppended>();

  constructor(
    @Inject(chatConfig.KEY) private readonly config: ChatConfig,
    private readonly retrieval: ChatRetrievalService,
    private readonly registry: ModelRegistry,
    @Inject(SESSION_STORE) private readonly sessions: SessionStore,
    @Inject(SESSION_LOCK) private readonly lock: SessionLock,
    metrics: MetricsService,
    @Inject(CHAT_GENERATOR) private readonly generator: ChatGenerator,
  ) {
    this.calibration = calibration(config);
    this.replies = new Counter({
      name: 'chat_replies_total',
      help: 'Chat replies by what answered them (retrieval, generation, fallback).',
      labelNames: ['source'] as const,
      registers: [metrics.registry],
    });
  }

  get minScore(): number {
    return this.calibration.answer;
  }

  /** The policy's thresholds in use. */
  get policy(): PolicyCalibration {
    return { ...this.calibration };
  }

  get hasGenerator(): boolean {
    return this.generator !== undefined;
  }

  newSessionId(): string {
    return randomUUID();
  }

  async reply(message: string, opts: ReplyOptions = {}): Promise<ChatReply> {
    const started = performance.now();
    const sessionId = opts.sessionId ?? this.newSessionId();
    return this.exclusive(opts.sessionId, opts.signal, () => this.answer(message, sessionId, started, opts));
  }

  /**
   * The same policy over a conversation the caller passes in (the OpenAI-compatible API): nothing is read
   * from or written to a session, so no lock is needed.
   */
  async complete(message: string, history: ChatTurn[], opts: Omit<ReplyOptions, 'sessionId'> = {}) {
    const started = performance.now();
    const answer = await this.respond(message, history, opts);
    this.replies.inc({ source: answer.source });
    return { ...answer, latencyMs: Math.round((performance.now() - started) * 10) / 10 } satisfies Completion;
  }

  /** reply()'s read-modify-write of the session, run holding the session's lock. */
  private async answer(
    message: string,
    sessionId: string,
    started: number,
    opts: ReplyOptions,
  ): Promise<ChatReply> {
    const history = (await this.sessions.get(sessionId)) ?? [];
    const { finish: _finish, ...answer } = await this.respond(message, history, opts);
    await this.remember(sessionId, message, answer);
    return { ...answer, sessionId, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  }

  /** The policy: retrieval, the generator, or a fallback that says why. */
  private async respond(message: string, history: ChatTurn[], opts: ReplyOptions): Promise<Answer> {
    const retrieval = this.retrieval.get();
    const seen = await this.registry.timeInference(RETRIEVAL_MODEL, () =>
      retrieval.inspect(message, this.config.CHAT_TOP_K),
    );
    const hit = retrieval.pick(seen.hits, this.calibration.answer, this.config.CHAT_PRIORITY_MARGIN);
    const decision = decide(hit, seen.outOfScope, this.calibration);
    if (decision.route === 'retrieval') return this.fromCorpus(retrieval, decision.hit, history);
    if (decision.route === 'fallback') return this.fallback(history, decision.reason);
    if (this.generator.ready) return this.generate(message, history, opts, retrieval);
    return this.fallback(history, 'no_generator');
  }

  /**
   * A greeting, with the name woven in when given. It is the corpus's answer to "안녕하세요", so it always
   * ends in thanks as every greeting of the corpus does.
   */
  async greeting(name?: string, sessionId?: string): Promise<ChatReply> {
    const started = performance.now();
    const id = sessionId ?? this.newSessionId();
    return this.exclusive(sessionId, undefined, () => this.greet(name, id, started));
  }

  /** greeting()'s read-modify-write of the session, run holding the session's lock. */
  private async greet(name: string | undefined, id: string, started: number): Promise<ChatReply> {
    const retrieval = this.retrieval.get();
    const history = (await this.sessions.get(id)) ?? [];
    const hits = await retrieval.search('안녕하세요', this.config.CHAT_TOP_K);
    const hit = hits.find((h) => h.entry.intent === 'greeting');
    const pool = retrieval.answersOfIntent('greeting');
    let answer: Omit<ChatReply, 'sessionId' | 'latencyMs'>;
    if (hit && pool.length > 0) {
      answer = {
        reply: vary(pool, history),
        source: 'retrieval',
        intent: 'greeting',
        score: round(hit.score),
        matched: hit.entry.q,
        reason: null,
      };
    } else {
      answer = {
        reply: BUILT_IN_GREETING,
        source: 'fallback',
        intent: null,
        score: null,
        matched: null,
        reason: 'no_generator',
      };
    }
    if (name) answer.reply = `${name.endsWith('님') ? name : `${name}님`}, ${answer.reply}`;
    await this.remember(id, name ? `${name}: 안녕하세요` : '안녕하세요', answer);
    return { ...answer, sessionId: id, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  }

  async history(sessionId: string): Promise<ChatTurn[]> {
    const turns = await this.sessions.get(sessionId);
    if (!turns) throw new NotFoundException(`Session ${sessionId} does not exist or has expired.`);
    return turns;
  }

  async forget(sessionId: string): Promise<void> {
    if (!(await this.sessions.delete(sessionId)))
      throw new NotFoundException(`Session ${sessionId} does not exist or has expired.`);
  }

  /**
   * Runs `fn` holding the lock of a session a client named, so that its messages (from any tab, on any
   * instance) are answered one after the other, each seeing the previous one in its history. A session
   * created by this very call is known to nobody else yet: no lock needed.
   */
  private exclusive<T>(sessionId: string | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>) {
    return sessionId === undefined ? fn() : this.lock.run(sessionId, fn, signal);
  }

  private fromCorpus(retrieval: Retrieval, hit: RetrievalHit, history: ChatTurn[]) {
    return {
      reply: vary(retrieval.answersFor(hit.id), history),
      source: 'retrieval' as const,
      intent: hit.entry.intent,
      score: round(hit.score),
      matched: hit.entry.q,
      reason: null,
      finish: 'stop' as const,
    };
  }

  /**
   * Samples CHAT_REPLY_CANDIDATES replies in one batch, ranks them (rankReplies) and streams the best one
   * once it is chosen, or answers with the fallback when even the best is under the quality gate.
   */
  private async generate(
    message: string,
    history: ChatTurn[],
    opts: ReplyOptions,
    retrieval: Retrieval,
  ): Promise<Answer> {
    const signal = opts.signal ?? new AbortController().signal;
    try {
      const out = await this.generator!.generate({
        message,
        history,
        signal,
        // Only a generator that cannot return candidates streams through this itself.
        onToken: opts.onToken,
        options: opts.generation,
        candidates: opts.generation?.temperature === 0 ? 1 : this.config.CHAT_REPLY_CANDIDATES,
      });
      if (signal.aborted) throw new HttpException('The request was cancelled.', 499);
      if (!out.candidates) return this.generated(out.text);
      const ranked = await rankReplies(message, out.candidates, retrieval.embedder, {
        relevanceWeight: this.config.CHAT_REPLY_RELEVANCE_WEIGHT,
      });
      const best = ranked[0];
      if (best && !passesGate(best, this.config.CHAT_REPLY_GATE))
        return this.fallback(history, 'low_quality');
      if (best) {
        // Streamed once chosen: the stream is the reply that is sent, never a candidate that lost.
        best.candidate.pieces.forEach((piece, i) => piece && opts.onToken?.(piece, i));
        return this.generated(best.candidate.text, best.candidate.finishReason);
      }
      this.logger.warn('the generator returned no usable reply; answering with the fallback');
    } catch (err) {
      // 429 (busy), 503 (loading) and the like reach the client as they are; so does a client going away.
      if (err instanceof HttpException || signal.aborted) throw err;
      if (err instanceof EmptyGeneration) {
        this.logger.warn('the generator returned an empty reply; answering with the fallback');
        return this.fallback(history, 'generator_failed');
      }
      this.logger.error({ err }, 'the generator failed; answering with the fallback');
    }
    return this.fallback(history, 'generator_failed');
  }

  private generated(text: string, finishReason = 'eos'): Answer {
    const reply = text.trim();
    if (reply.length === 0) throw new EmptyGeneration();
    // A reply cut by the token limit or the deadline is a partial one.
    const finish = finishReason === 'length' || finishReason === 'deadline' ? 'length' : 'stop';
    return { reply, source: 'generation', intent: null, score: null, matched: null, reason: null, finish };
  }

  private fallback(history: ChatTurn[], reason: FallbackReason): Answer {
    return {
      reply: vary(reason === 'out_of_scope' ? OUT_OF_SCOPE_REPLIES : FALLBACK_REPLIES, history),
      source: 'fallback' as const,
      intent: null,
      score: null,
      matched: null,
      reason,
      finish: 'stop',
    };
  }

  private async remember(sessionId: string, user: string, a: Omit<ChatReply, 'sessionId' | 'latencyMs'>) {
    this.replies.inc({ source: a.source });
    const turn: ChatTurn = {
      user,
      bot: a.reply,
      source: a.source,
      intent: a.intent,
      at: new Date().toISOString(),
    };
    await this.sessions.append(sessionId, turn);
    this.turns.next({ sessionId, turn });
  }
}

/** One of the answers, not one the session just heard when another exists. */
export function vary(pool: readonly string[], history: readonly ChatTurn[]): string {
  if (pool.length <= 1) return pool[0];
  const recent = history.slice(-AVOID_RECENT).map((t) => t.bot);
  const last = history.at(-1)?.bot;
  let candidates = pool.filter((a) => !recent.includes(a));
  if (candidates.length === 0) candidates = pool.filter((a) => a !== last);
  return candidates[Math.floor(Math.random() * candidates.length)];
}

function round(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}
