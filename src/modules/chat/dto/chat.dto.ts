import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export const MAX_MESSAGE_CHARS = 500;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_ID_MESSAGE = 'sessionId must be 1 to 64 letters, digits, "-" or "_"';
/** Control characters (C0, DEL, C1) and the bidirectional overrides that can disguise text. */
const NO_CONTROL = /^[^\p{Cc}\u202A-\u202E\u2066-\u2069]*$/u;

const EXAMPLE_SESSION = '3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f';

/** Sampling settings for a generated answer (used only when the generator answers); bounded server-side too. */
export class GenerationOptionsDto {
  @ApiPropertyOptional({
    description: 'At most this many new tokens (capped by GENERATOR_MAX_NEW_TOKENS).',
    example: 48,
    minimum: 1,
    maximum: 512,
  })
  @Max(512)
  @Min(1)
  @IsInt()
  @IsOptional()
  max_new_tokens?: number;

  @ApiPropertyOptional({ description: '0 = greedy decoding.', example: 0.8, minimum: 0, maximum: 2 })
  @Max(2)
  @Min(0)
  @IsNumber()
  @IsOptional()
  temperature?: number;

  @ApiPropertyOptional({ example: 40, minimum: 0, maximum: 1000 })
  @Max(1000)
  @Min(0)
  @IsInt()
  @IsOptional()
  top_k?: number;

  @ApiPropertyOptional({ example: 0.9, minimum: 0, maximum: 1 })
  @Max(1)
  @Min(0)
  @IsNumber()
  @IsOptional()
  top_p?: number;

  @ApiPropertyOptional({
    description: 'Guards against repetition loops.',
    example: 1.2,
    minimum: 1,
    maximum: 3,
  })
  @Max(3)
  @Min(1)
  @IsNumber()
  @IsOptional()
  repetition_penalty?: number;

  @ApiPropertyOptional({ example: 3, minimum: 0, maximum: 10 })
  @Max(10)
  @Min(0)
  @IsInt()
  @IsOptional()
  no_repeat_ngram_size?: number;

  @ApiPropertyOptional({
    description: 'Makes sampling reproducible.',
    example: 42,
    minimum: 0,
    maximum: 2147483647,
  })
  @Max(2147483647)
  @Min(0)
  @IsInt()
  @IsOptional()
  seed?: number;
}

/** A character that is neither whitespace nor invisible (zero-width spaces and joiners, BOM, variation selectors). */
export const VISIBLE = /[^\s\p{Cf}\uFE00-\uFE0F]/u;

/** Body of POST /chat and POST /chat/stream. */
/** What every chat message may carry besides its text. */
export class ChatGenerationFieldDto {
  @ApiPropertyOptional({
    type: GenerationOptionsDto,
    description: 'Sampling settings if the generator answers.',
  })
  @ValidateNested()
  @Type(() => GenerationOptionsDto)
  @IsOptional()
  generation?: GenerationOptionsDto;
}

export class ChatRequestDto extends ChatGenerationFieldDto {
  @ApiProperty({
    description: `What the user says (1 to ${MAX_MESSAGE_CHARS} characters, not only spaces or invisible characters).`,
    example: '안녕하세요',
    minLength: 1,
    maxLength: MAX_MESSAGE_CHARS,
  })
  // class-validator runs the bottom decorator first (and stops at the first error).
  @MaxLength(MAX_MESSAGE_CHARS)
  @Matches(VISIBLE, { message: 'message must not be only whitespace or invisible characters' })
  @IsNotEmpty()
  @IsString()
  message: string;

  @ApiPropertyOptional({
    description: 'Continue this session (its history is kept); omitted: a new session is started.',
    example: EXAMPLE_SESSION,
    pattern: SESSION_ID.source,
  })
  @Matches(SESSION_ID, { message: SESSION_ID_MESSAGE })
  @IsString()
  @IsOptional()
  sessionId?: string;
}

/** Payload of the socket.io `message` event. */
export class ChatSocketMessageDto extends ChatGenerationFieldDto {
  @ApiProperty({ example: '안녕하세요', minLength: 1, maxLength: MAX_MESSAGE_CHARS })
  @MaxLength(MAX_MESSAGE_CHARS)
  @Matches(VISIBLE, { message: 'text must not be only whitespace or invisible characters' })
  @IsNotEmpty()
  @IsString()
  text: string;

  @ApiPropertyOptional({
    description: "Overrides the socket's session for this message.",
    example: EXAMPLE_SESSION,
  })
  @Matches(SESSION_ID, { message: SESSION_ID_MESSAGE })
  @IsString()
  @IsOptional()
  sessionId?: string;
}

/** Query of GET /chat/greeting. */
export class GreetingQueryDto {
  @ApiPropertyOptional({
    description: 'Name to greet (at most 40 characters, no control characters).',
    example: '민지',
    maxLength: 40,
  })
  @Matches(/^(|.*\S.*)$/su, { message: 'name must not be only whitespace' })
  @Matches(NO_CONTROL, { message: 'name must not contain control characters' })
  @MaxLength(40)
  @IsString()
  @IsOptional()
  name?: string;

  @ApiPropertyOptional({ description: 'Session to add the greeting to.', example: EXAMPLE_SESSION })
  @Matches(SESSION_ID, { message: SESSION_ID_MESSAGE })
  @IsString()
  @IsOptional()
  sessionId?: string;
}

export class SessionParamsDto {
  @ApiProperty({ example: EXAMPLE_SESSION, pattern: SESSION_ID.source })
  @Matches(SESSION_ID, { message: 'the session id must be 1 to 64 letters, digits, "-" or "_"' })
  @IsString()
  id: string;
}

/** A chat answer, the same over REST, SSE (`done`) and socket.io (`reply` and the acknowledgement). */
export class ChatReplyDto {
  @ApiProperty({
    example: '안녕하세요, 반갑습니다! 무엇이든 편하게 말씀해 주세요. 먼저 인사해 주셔서 감사합니다.',
  })
  reply: string;

  @ApiProperty({ example: EXAMPLE_SESSION }) sessionId: string;

  @ApiProperty({
    enum: ['retrieval', 'generation', 'fallback'],
    example: 'retrieval',
    description: 'retrieval: answered from the corpus; generation: by the text generator; fallback: neither.',
  })
  source: 'retrieval' | 'generation' | 'fallback';

  @ApiProperty({
    nullable: true,
    type: String,
    example: 'greeting',
    description: 'null unless source is retrieval',
  })
  intent: string | null;

  @ApiProperty({
    nullable: true,
    type: Number,
    example: 1,
    description: 'Cosine similarity of the match; null unless source is retrieval',
  })
  score: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    example: '안녕하세요',
    description: 'The corpus question that matched; null unless source is retrieval',
  })
  matched: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['out_of_scope', 'no_generator', 'generator_failed', 'low_quality'],
    example: null,
    description:
      'Why the bot fell back: out_of_scope (a request outside small talk), no_generator, generator_failed, ' +
      'low_quality (every generated candidate failed the quality gate); null unless source is fallback',
  })
  reason: string | null;

  @ApiProperty({ example: 1.8, description: 'Time spent answering, in milliseconds' }) latencyMs: number;
}

export class ChatTurnDto {
  @ApiProperty({ example: '안녕하세요' }) user: string;
  @ApiProperty({
    example: '안녕하세요, 반갑습니다! 무엇이든 편하게 말씀해 주세요. 먼저 인사해 주셔서 감사합니다.',
  })
  bot: string;
  @ApiProperty({ enum: ['retrieval', 'generation', 'fallback'], example: 'retrieval' }) source: string;
  @ApiProperty({ nullable: true, type: String, example: 'greeting' }) intent: string | null;
  @ApiProperty({ example: '2025-01-01T09:00:00.000Z' }) at: string;
}

export class SessionHistoryDto {
  @ApiProperty({ example: EXAMPLE_SESSION }) sessionId: string;
  @ApiProperty({ type: [ChatTurnDto], description: 'Oldest first; at most CHAT_HISTORY_TURNS' })
  turns: ChatTurnDto[];
}

export class CorpusFileDto {
  @ApiProperty({ example: 'ko-smalltalk.jsonl' }) name: string;
  @ApiProperty({ enum: ['jsonl', 'chatbotdata-csv'], example: 'jsonl' }) format: string;
  @ApiProperty({ example: 464 }) entries: number;
}

export class CorpusReloadDto {
  @ApiProperty({ example: 464 }) entries: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { greeting: 40, thanks: 37 },
  })
  intents: Record<string, number>;
  @ApiProperty({ type: [CorpusFileDto] }) files: CorpusFileDto[];
  @ApiProperty({ example: '9a1f…', description: 'sha256 of the corpus files, embedder and index type' })
  fingerprint: string;
  @ApiProperty({
    enum: ['built', 'loaded'],
    example: 'loaded',
    description: 'built: the corpus was embedded now; loaded: an index with this fingerprint was on disk',
  })
  origin: string;
  @ApiProperty({ example: 412 }) loadMs: number;
}
