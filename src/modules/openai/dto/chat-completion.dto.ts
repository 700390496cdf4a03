import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  Equals,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';

/** Earlier turns may be longer than a new message (a bot reply); the last user message has the chat's limit. */
export const MAX_CONTENT_CHARS = 4000;
export const MAX_MESSAGES = 64;
export const MAX_STOP = 4;
export const ROLES = ['system', 'developer', 'user', 'assistant'] as const;

export class ChatCompletionMessageDto {
  @ApiProperty({ enum: ROLES, example: 'user' })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role: (typeof ROLES)[number];

  @ApiProperty({ description: `Plain text, at most ${MAX_CONTENT_CHARS} characters.`, example: '안녕하세요' })
  @MaxLength(MAX_CONTENT_CHARS)
  @IsString({ message: 'content must be a string (content parts are not supported)' })
  content: string;

  @ApiPropertyOptional({ description: 'Accepted and ignored.', example: 'minji' })
  @MaxLength(64)
  @IsString()
  @IsOptional()
  name?: string;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({ description: 'Send a last chunk with `usage` (and no choices) before [DONE].' })
  @IsBoolean()
  @IsOptional()
  include_usage?: boolean;
}

@ValidatorConstraint({ name: 'stop' })
class StopConstraint implements ValidatorConstraintInterface {
  validate(v: unknown): boolean {
    const list = typeof v === 'string' ? [v] : v;
    return (
      Array.isArray(list) &&
      list.length <= MAX_STOP &&
      list.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 64)
    );
  }
  defaultMessage(): string {
    return `stop must be a string or a list of at most ${MAX_STOP} strings, each 1 to 64 characters`;
  }
}

/** Body of POST /v1/chat/completions: OpenAI's fields that this service can honour. */
export class ChatCompletionRequestDto {
  @ApiProperty({ description: 'A model id from GET /v1/models.', example: 'ko-chat' })
  @MaxLength(128)
  @IsString()
  model: string;

  @ApiProperty({
    type: [ChatCompletionMessageDto],
    description:
      `The conversation, oldest first, ending with a user message (1 to ${MAX_MESSAGES} messages). User and ` +
      'assistant turns are the history; system and developer messages are accepted and counted in usage, but ' +
      'the model has no instructions channel and does not follow them.',
    example: [{ role: 'user', content: '안녕하세요' }],
  })
  @ValidateNested({ each: true })
  @Type(() => ChatCompletionMessageDto)
  @ArrayMaxSize(MAX_MESSAGES)
  @ArrayMinSize(1)
  @IsArray()
  messages: ChatCompletionMessageDto[];

  @ApiPropertyOptional({ description: 'Answer as Server-Sent Events of chat.completion.chunk objects.' })
  @IsBoolean()
  @IsOptional()
  stream?: boolean;

  @ApiPropertyOptional({ type: StreamOptionsDto })
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  @IsOptional()
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({
    description:
      'At most this many completion tokens (generation is further capped by GENERATOR_MAX_NEW_TOKENS).',
    minimum: 1,
    maximum: 4096,
  })
  @Max(4096)
  @Min(1)
  @IsInt()
  @IsOptional()
  max_tokens?: number;

  @ApiPropertyOptional({ description: 'The newer name of max_tokens; wins when both are set.', minimum: 1 })
  @Max(4096)
  @Min(1)
  @IsInt()
  @IsOptional()
  max_completion_tokens?: number;

  @ApiPropertyOptional({
    description: 'Sampling temperature of a generated answer; 0 = greedy.',
    minimum: 0,
    maximum: 2,
  })
  @Max(2)
  @Min(0)
  @IsNumber()
  @IsOptional()
  temperature?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1 })
  @Max(1)
  @Min(0)
  @IsNumber()
  @IsOptional()
  top_p?: number;

  @ApiPropertyOptional({ description: 'Makes a generated answer reproducible.' })
  @IsInt()
  @IsOptional()
  seed?: number;

  @ApiPropertyOptional({
    description: `Up to ${MAX_STOP} strings; the answer ends before the first of them (finish_reason "stop").`,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  })
  @Validate(StopConstraint)
  @IsOptional()
  stop?: string | string[];

  @ApiPropertyOptional({ description: 'Only 1 is supported.', minimum: 1, maximum: 1 })
  @Equals(1, { message: 'n must be 1: this server returns one choice' })
  @IsOptional()
  n?: number;

  @ApiPropertyOptional({ description: 'Accepted; only 0 is supported.' })
  @Equals(0, { message: 'presence_penalty is not supported (only 0)' })
  @IsOptional()
  presence_penalty?: number;

  @ApiPropertyOptional({ description: 'Accepted; only 0 is supported.' })
  @Equals(0, { message: 'frequency_penalty is not supported (only 0)' })
  @IsOptional()
  frequency_penalty?: number;

  @ApiPropertyOptional({ description: 'Accepted; only false is supported.' })
  @Equals(false, { message: 'logprobs is not supported (only false)' })
  @IsOptional()
  logprobs?: boolean;

  @ApiPropertyOptional({ description: "The caller's end user, for their own records; not stored." })
  @MaxLength(256)
  @IsString()
  @IsOptional()
  user?: string;
}
