import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ChatRequestDto, ChatSocketMessageDto } from '../../../../src/modules/chat/dto/chat.dto';

const errors = async (cls: new () => object, body: object) =>
  (await validate(plainToInstance(cls, body))).flatMap((e) => Object.values(e.constraints ?? {}));

describe('chat message DTOs', () => {
  it.each(['   ', '\u200b\u200c\u200d\ufeff', ' \u200b \ufe0f '])(
    'refuse a message of only whitespace or invisible characters (%j)',
    async (text) => {
      expect(await errors(ChatRequestDto, { message: text })).toEqual([
        'message must not be only whitespace or invisible characters',
      ]);
      expect(await errors(ChatSocketMessageDto, { text })).toEqual([
        'text must not be only whitespace or invisible characters',
      ]);
    },
  );

  it('accept text with something visible, emoji included', async () => {
    for (const message of ['안녕', '\u200b안녕', '👍', '😊\ufe0f'])
      expect(await errors(ChatRequestDto, { message })).toEqual([]);
  });
});
