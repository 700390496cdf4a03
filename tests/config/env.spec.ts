import { AppEnv } from '../../src/config/app.config';
import { loadEnv } from '../../src/config/env';
import { ChatEnv } from '../../src/modules/chat/chat.config';
import { MnistEnv } from '../../src/modules/mnist/mnist.config';

describe('configuration validated at start-up', () => {
  it('uses the documented defaults', () => {
    const c = loadEnv(AppEnv, {});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      MODELS_DIR: 'models',
      UPLOAD_DIR: 'data/uploads',
      OUTPUT_DIR: 'data/output',
      LOG_LEVEL: 'info',
      CORS_ORIGINS: [],
    });
    // The folders a capability alone reads are declared by its module.
    expect(loadEnv(ChatEnv, {})).toMatchObject({ CORPUS_DIR: 'corpus' });
    expect(loadEnv(MnistEnv, {})).toMatchObject({ MNIST_DIR: 'data/mnist' });
  });

  it('converts numbers, sizes and lists', () => {
    const c = loadEnv(AppEnv, {
      PORT: '8080',
      BODY_LIMIT: '2mb',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(c.PORT).toBe(8080);
    expect(c.BODY_LIMIT).toBe(2 * 1024 * 1024);
    expect(c.CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
  });

  it('ignores variables it does not declare', () => {
    const c = loadEnv(AppEnv, { PATH: '/bin', SOMETHING_ELSE: 'x' }) as unknown as Record<string, unknown>;
    expect(c.PATH).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['BODY_LIMIT', 'ten megabytes'],
    ['IMAGE_MAX_PIXELS', '-5'],
  ])('stops with a message naming %s when it is %s', (name, value) => {
    expect(() => loadEnv(AppEnv, { [name]: value })).toThrow(new RegExp(`${name} \\(got "${value}"\\)`));
  });
});
