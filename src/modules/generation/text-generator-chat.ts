import { Injectable } from '@nestjs/common';
import { ChatGenerationRequest, ChatGenerator } from '../chat/chat-generator';
import { TextGenerator } from './text-generator';

/** The chat's CHAT_GENERATOR port, served by the worker-thread TextGenerator. */
@Injectable()
export class TextGeneratorChat implements ChatGenerator {
  constructor(private readonly generator: TextGenerator) {}

  get ready(): boolean {
    return this.generator.ready;
  }

  generate(req: ChatGenerationRequest): ReturnType<ChatGenerator['generate']> {
    return this.generator.generate(req);
  }
}
