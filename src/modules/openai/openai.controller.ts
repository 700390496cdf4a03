import { Body, Controller, Get, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { clientGone } from '../../common/http/client-gone';
import { sse } from '../../common/http/sse';
import { ChatRateLimitGuard } from '../chat/chat-rate-limiter';
import { ChatCompletionsService } from './chat-completions.service';
import { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import type { ChatCompletion, ChatCompletionChunk, ModelObject } from './openai.types';

const ERROR_SCHEMA = {
  schema: {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          type: { type: 'string' },
          param: { type: 'string', nullable: true },
          code: { type: 'string', nullable: true },
        },
      },
    },
  },
};

const COMPLETION_EXAMPLE = {
  id: 'chatcmpl-3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f',
  object: 'chat.completion',
  created: 1764547200,
  model: 'ko-chat',
  system_fingerprint: null,
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: '안녕하세요, 반갑습니다! … 감사합니다.', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 4, completion_tokens: 17, total_tokens: 21 },
  ko_chat: {
    source: 'retrieval',
    intent: 'greeting',
    score: 1,
    matched: '안녕하세요',
    reason: null,
    latencyMs: 2.1,
    usageUnit: 'ko-chat-gpt2 tokenizer',
  },
};

/**
 * OpenAI-compatible routes: the `openai` client libraries work with `baseURL` set to `<server>/v1`. Their errors
 * take OpenAI's shape through the OPENAI_ERRORS dialect of the global filter.
 */
@ApiTags('openai')
@Controller('v1')
export class OpenAiController {
  constructor(private readonly completions: ChatCompletionsService) {}

  @Get('models')
  @ApiOperation({ summary: 'The chat model, as OpenAI lists models' })
  @ApiOkResponse({
    description: 'A list object',
    schema: {
      example: {
        object: 'list',
        data: [{ id: 'ko-chat', object: 'model', created: 1764547200, owned_by: 'ko-ai-server' }],
      },
    },
  })
  models(): { object: 'list'; data: ModelObject[] } {
    return { object: 'list', data: this.completions.models() };
  }

  @Get('models/:model')
  @ApiOperation({ summary: 'One model' })
  @ApiOkResponse({ description: 'A model object' })
  @ApiNotFoundResponse({
    description: 'Unknown model (OpenAI error shape)',
    content: { 'application/json': ERROR_SCHEMA },
  })
  model(@Param('model') id: string): ModelObject {
    return this.completions.model(id);
  }

  @Post('chat/completions')
  @HttpCode(200)
  @UseGuards(ChatRateLimitGuard)
  @ApiOperation({
    summary: 'OpenAI Chat Completions over the chat policy',
    description:
      "The conversation comes from `messages` (no server session; the last one must be the user's). The answer is " +
      'chosen as for POST /chat (corpus, generator or fallback), and `ko_chat` says which, with the intent and score. ' +
      "`usage` counts tokens of the generator's tokenizer. With `stream: true` the answer is Server-Sent Events of " +
      '`chat.completion.chunk` objects, then `data: [DONE]`; closing the connection aborts the generation. Errors ' +
      'use OpenAI\'s shape `{ "error": { message, type, param, code } }`.',
  })
  @ApiBody({
    type: ChatCompletionRequestDto,
    examples: {
      greeting: { value: { model: 'ko-chat', messages: [{ role: 'user', content: '안녕하세요' }] } },
      streamed: {
        value: { model: 'ko-chat', stream: true, messages: [{ role: 'user', content: '오늘 날씨 어때?' }] },
      },
    },
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description:
      'A chat.completion object, or (stream: true) an event stream of chat.completion.chunk objects',
    content: {
      'application/json': { example: COMPLETION_EXAMPLE },
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],…}\n\n' +
          'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"안녕하세요, "},"finish_reason":null}],…}\n\n' +
          'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"ko_chat":{…}}\n\n' +
          'data: [DONE]\n\n',
      },
    },
  })
  @ApiBadRequestResponse({
    description: 'Invalid body (OpenAI error shape)',
    content: { 'application/json': ERROR_SCHEMA },
  })
  @ApiNotFoundResponse({ description: 'Unknown model', content: { 'application/json': ERROR_SCHEMA } })
  @ApiTooManyRequestsResponse({
    description: 'Rate limited or the generator is busy (Retry-After)',
    content: { 'application/json': ERROR_SCHEMA },
  })
  @ApiServiceUnavailableResponse({
    description: 'The chat index or the generator is still loading (Retry-After)',
    content: { 'application/json': ERROR_SCHEMA },
  })
  async create(
    @Body() body: ChatCompletionRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ChatCompletion | void> {
    const gone = clientGone(res);
    try {
      if (!body.stream) return await this.completions.complete(body, gone.signal);
      const events = sse(res);
      await this.completions.stream(body, gone.signal, (chunk: ChatCompletionChunk) => {
        if (!gone.signal.aborted) events.send(chunk);
      });
      if (!gone.signal.aborted) res.end('data: [DONE]\n\n');
      else res.end();
    } finally {
      gone.done();
    }
  }
}
