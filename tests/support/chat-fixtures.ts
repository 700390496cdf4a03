import { HttpException, HttpStatus, ModuleMetadata, ServiceUnavailableException } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';
import {
  CHAT_GENERATOR,
  ChatGenerationRequest,
  ChatGenerator,
  GeneratedReply,
} from '../../src/modules/chat/chat-generator';
import { REPO_ROOT, SHARED, startApp, TestApp } from './app';

export const CHATBOT_DATA = path.join(SHARED, 'chatbot', 'ChatbotData.csv');
export const OUR_CORPUS = path.join(REPO_ROOT, 'corpus', 'ko-smalltalk.jsonl');
const ourRows = readFileSync(OUR_CORPUS, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { q: string; a: string; intent: string });
/** Questions in our corpus, and its intents (counted from the file, so tests follow the corpus as it grows). */
export const OUR_CORPUS_SIZE = ourRows.length;
export const OUR_INTENT_COUNT = new Set(ourRows.map((r) => r.intent)).size;
/** Questions per intent in our corpus. */
export const OUR_INTENTS: Readonly<Record<string, number>> = ourRows.reduce<Record<string, number>>(
  (acc, r) => ((acc[r.intent] = (acc[r.intent] ?? 0) + 1), acc),
  {},
);

/** Bound to CHAT_GENERATOR when a test gives none: the chat never hands over (it answers with its fallback). */
export const NO_GENERATOR: ChatGenerator = {
  ready: false,
  generate: () => Promise.reject(new Error('no generator in this test')),
};

/**
 * startApp() with CHAT_GENERATOR bound to `opts.generator` (default: none ready) instead of the real text
 * generator, for tests of the chat policy that must not depend on the generation model.
 */
export function startChatApp(
  env: Record<string, string> = {},
  opts: { generator?: ChatGenerator; imports?: ModuleMetadata['imports']; waitForModels?: boolean } = {},
): Promise<TestApp> {
  return startApp(env, {
    waitForModels: opts.waitForModels,
    imports: opts.imports,
    overrides: [{ token: CHAT_GENERATOR, value: opts.generator ?? NO_GENERATOR }],
  });
}

/** A connected socket.io client of the /chat namespace, with the `session` event it got first. */
export async function connectChat(
  url: string,
  auth: Record<string, unknown> = {},
): Promise<{ socket: Socket; sessionId: string }> {
  const socket = io(`${url}/chat`, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
  const sessionId = await new Promise<string>((resolve, reject) => {
    socket.once('session', (s: { sessionId: string }) => resolve(s.sessionId));
    socket.once('connect_error', reject);
  });
  return { socket, sessionId };
}

/** Emits `message` and resolves with the acknowledgement. */
export function ask(socket: Socket, payload: unknown, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return socket.timeout(timeoutMs).emitWithAck('message', payload) as Promise<Record<string, unknown>>;
}

/** The next `event` on a socket. */
export function next<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/** Server-Sent Events of a complete response body. */
export function parseSse(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

/**
 * A stand-in for the text generator (the generation module provides the real one through the same token):
 * it streams a fixed reply word by word, or fails the way the real one may, and records what it was given.
 */
export class ScriptedGenerator implements ChatGenerator {
  ready = true;
  mode: 'reply' | 'busy' | 'unavailable' | 'crash' | 'empty' | 'hang' | 'candidates' = 'reply';
  text = '생성된 답변 입니다';
  /** What mode 'candidates' returns (as TextGenerator does when asked for candidates). */
  candidates: GeneratedReply[] = [];
  readonly calls: { message: string; history: ChatGenerationRequest['history']; candidates?: number }[] = [];
  aborted = 0;
  /** Resolves when a generation starts. */
  private started?: () => void;

  whenStarted(): Promise<void> {
    return new Promise((resolve) => (this.started = resolve));
  }

  async generate(
    req: ChatGenerationRequest,
  ): Promise<{ text: string; tokens: number; candidates?: GeneratedReply[] }> {
    this.calls.push({ message: req.message, history: req.history, candidates: req.candidates });
    this.started?.();
    req.signal.addEventListener('abort', () => this.aborted++);
    switch (this.mode) {
      case 'busy':
        throw new HttpException(
          'The text generator is busy; try again shortly.',
          HttpStatus.TOO_MANY_REQUESTS,
        );
      case 'unavailable':
        throw new ServiceUnavailableException(
          'Model "gpt2-ko" (text-generation) is still loading; try again shortly.',
        );
      case 'crash':
        throw new Error('worker crashed');
      case 'empty':
        return { text: '  ', tokens: 0 };
      case 'candidates':
        return { text: this.candidates[0]?.text ?? '', tokens: 0, candidates: this.candidates };
      case 'hang':
        await new Promise<void>((_resolve, reject) => {
          req.signal.addEventListener('abort', () => reject(new Error('aborted')));
        });
        throw new Error('unreachable');
      default: {
        const words = this.text.split(/(?<= )/);
        for (const [i, w] of words.entries()) {
          await new Promise((r) => setTimeout(r, 5));
          req.onToken?.(w, i);
        }
        return { text: this.text, tokens: words.length };
      }
    }
  }
}

export interface TinyEncoder {
  /** A MODELS_DIR holding the encoder. */
  modelsDir: string;
  name: string;
  hiddenSize: number;
  /** PyTorch's sentence embeddings of the `check` sentences (mean pooling, L2-normalised). */
  reference: number[][];
  cleanup(): void;
}

/**
 * Makes a tiny random-weight BERT sentence encoder (Hugging Face layout, ONNX) with our training script, in a
 * temporary MODELS_DIR. Needs /usr/bin/python3 with PyTorch; takes a few seconds.
 */
export function makeTinyEncoder(check: string[] = [], extra: string[] = []): TinyEncoder {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'ko-ai-encoder-'));
  const name = 'ko-sentence-tiny';
  const script = path.join(REPO_ROOT, 'training', 'sentence-encoder', 'make_tiny_bert.py');
  const out = execFileSync(
    '/usr/bin/python3',
    [script, '--out', path.join(modelsDir, name), ...extra, '--check', ...check],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const result = JSON.parse(out.trim().split('\n').pop()!) as { hidden_size: number; reference: number[][] };
  return {
    modelsDir,
    name,
    hiddenSize: result.hidden_size,
    reference: result.reference,
    cleanup: () => rmSync(modelsDir, { recursive: true, force: true }),
  };
}
