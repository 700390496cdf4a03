import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdminOnly } from '../../common/auth/access';
import { toErrorBody } from '../../common/errors/error-body';
import { clientGone } from '../../common/http/client-gone';
import { sse } from '../../common/http/sse';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { ChatRateLimitGuard } from './chat-rate-limiter';
import { ChatRetrievalService } from './chat-retrieval.service';
import { replyTokens } from './reply/reply-tokens';
import { ChatReply, ChatService } from './chat.service';
import {
  ChatReplyDto,
  ChatRequestDto,
  CorpusReloadDto,
  GreetingQueryDto,
  SessionHistoryDto,
  SessionParamsDto,
} from './dto/chat.dto';

const REPLY_EXAMPLE = {
  reply: '안녕하세요, 반갑습니다! 무엇이든 편하게 말씀해 주세요. 먼저 인사해 주셔서 감사합니다.',
  sessionId: '3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f',
  source: 'retrieval',
  intent: 'greeting',
  score: 1,
  matched: '안녕하세요',
  reason: null,
  latencyMs: 1.8,
};

@ApiTags('chat')
@Controller('chat')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly retrieval: ChatRetrievalService,
  ) {}

  @Post()
  @HttpCode(200)
  @UseGuards(ChatRateLimitGuard)
  @ApiOperation({
    summary: 'Answer a message',
    description:
      'Normalises and embeds the message, finds the nearest corpus questions with FAISS and answers from the ' +
      'corpus when the best match scores at least CHAT_MIN_SCORE; otherwise the generator answers (when ' +
      'configured), else a fallback that says what the bot can do.',
  })
  @ApiBody({
    type: ChatRequestDto,
    examples: {
      greeting: { value: { message: '안녕하세요' } },
      shorthand: { value: { message: 'ㄱㅅㄱㅅ ^^', sessionId: '3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f' } },
    },
  })
  @ApiOkResponse({ type: ChatReplyDto, example: REPLY_EXAMPLE })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Missing, blank, too long or non-string message, unknown field',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: 'Rate limited (see Retry-After), or the generator is busy',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'The chat index (or the generator) is still loading, or the sentence encoder has 256 messages waiting',
  })
  async message(@Body() body: ChatRequestDto, @Res({ passthrough: true }) res: Response): Promise<ChatReply> {
    const gone = clientGone(res);
    try {
      return await this.chat.reply(body.message, {
        sessionId: body.sessionId,
        signal: gone.signal,
        generation: body.generation,
      });
    } finally {
      gone.done();
    }
  }

  @Post('stream')
  @UseGuards(ChatRateLimitGuard)
  @ApiOperation({
    summary: 'Answer a message as Server-Sent Events',
    description:
      'Same body as POST /chat. The answer arrives as `token` events (`{ "text", "index" }`; retrieval answers ' +
      'one per word, so clients have one code path), then one `done` event with the full reply payload. Errors ' +
      'before the first event are ordinary JSON error responses; after it, an `error` event carries the error ' +
      'body. Closing the connection aborts the work.',
  })
  @ApiBody({ type: ChatRequestDto, examples: { greeting: { value: { message: '안녕하세요' } } } })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An event stream',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'event: token\ndata: {"text":"안녕하세요, ","index":0}\n\n' +
          'event: token\ndata: {"text":"반갑습니다!","index":1}\n\n' +
          `event: done\ndata: ${JSON.stringify({ ...REPLY_EXAMPLE, reply: '안녕하세요, 반갑습니다!' })}\n\n`,
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto })
  async stream(
    @Body() body: ChatRequestDto,
    @Req() req: Request & { id?: string },
    @Res() res: Response,
  ): Promise<void> {
    const gone = clientGone(res);
    const events = sse(res);
    const send = (event: string, data: unknown) => events.send(data, event);
    let streamed = 0;
    try {
      const reply = await this.chat.reply(body.message, {
        sessionId: body.sessionId,
        signal: gone.signal,
        generation: body.generation,
        onToken: (text, index) => {
          streamed++;
          if (!gone.signal.aborted) send('token', { text, index });
        },
      });
      if (gone.signal.aborted) return;
      if (streamed === 0) replyTokens(reply.reply).forEach((text, index) => send('token', { text, index }));
      send('done', reply);
      res.end();
    } catch (err) {
      if (gone.signal.aborted) return;
      if (!res.headersSent) throw err;
      send('error', { ...toErrorBody(err), requestId: String(req.id ?? '') });
      res.end();
    } finally {
      gone.done();
    }
  }

  @Get('greeting')
  @UseGuards(ChatRateLimitGuard)
  @ApiOperation({
    summary: 'A greeting',
    description:
      'The corpus answer to "안녕하세요" (always ending in "감사합니다"), with the name woven in when given.',
  })
  @ApiOkResponse({
    type: ChatReplyDto,
    example: {
      ...REPLY_EXAMPLE,
      reply: '민지님, 안녕하세요, 반갑습니다! 무엇이든 편하게 말씀해 주세요. 먼저 인사해 주셔서 감사합니다.',
    },
  })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Name over 40 characters or with control characters',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto })
  greeting(@Query() query: GreetingQueryDto): Promise<ChatReply> {
    const name = query.name?.trim();
    return this.chat.greeting(name || undefined, query.sessionId);
  }

  @Get('sessions/:id')
  @ApiOperation({ summary: "A session's history (most recent CHAT_HISTORY_TURNS turns, oldest first)" })
  @ApiOkResponse({
    type: SessionHistoryDto,
    example: {
      sessionId: REPLY_EXAMPLE.sessionId,
      turns: [
        {
          user: '안녕하세요',
          bot: REPLY_EXAMPLE.reply,
          source: 'retrieval',
          intent: 'greeting',
          at: '2025-01-01T09:00:00.000Z',
        },
      ],
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Malformed session id' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or expired session' })
  async session(@Param() params: SessionParamsDto): Promise<SessionHistoryDto> {
    return { sessionId: params.id, turns: await this.chat.history(params.id) };
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Forget a session and its history' })
  @ApiNoContentResponse({ description: 'Forgotten' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Malformed session id' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or expired session' })
  async forget(@Param() params: SessionParamsDto): Promise<void> {
    await this.chat.forget(params.id);
  }

  @Post('corpus/reload')
  @AdminOnly()
  @HttpCode(200)
  @UseGuards(ChatRateLimitGuard)
  @ApiOperation({
    summary: 'Re-read the corpus files and swap in their index',
    description:
      'Loads the index whose fingerprint matches the files (from the index folder) or builds it, then swaps it ' +
      'in at once: requests in flight finish with the old index, later ones use the new one, connections stay ' +
      'open. Reloads run one at a time; a failed one keeps the serving index.',
  })
  @ApiOkResponse({
    type: CorpusReloadDto,
    example: {
      entries: 464,
      intents: { greeting: 40, thanks: 37 },
      files: [{ name: 'ko-smalltalk.jsonl', format: 'jsonl', entries: 464 }],
      fingerprint: '9a1fe0c2…',
      origin: 'built',
      loadMs: 412,
    },
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'A corpus file is missing or malformed',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: 'The sentence encoder is not available',
  })
  async reload(): Promise<CorpusReloadDto> {
    const r = await this.retrieval.reload();
    return {
      entries: r.size,
      intents: r.intents(),
      files: r.corpus.files.map((f) => ({ name: f.name, format: f.format, entries: f.entries.length })),
      fingerprint: r.fingerprint,
      origin: r.origin,
      loadMs: r.loadMs,
    };
  }
}
