import { HttpException } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { presentedKey } from '../../../src/common/auth/presented-key';
import { ApiKeys, parseKeys } from '../../../src/modules/auth/api-keys';

const USER = 'user-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

function keys(env: Partial<{ API_KEYS: string; ADMIN_API_KEYS: string; AUTH_FAILURES_PER_MIN: number }>) {
  return new ApiKeys({ API_KEYS: '', ADMIN_API_KEYS: '', AUTH_FAILURES_PER_MIN: 10, ...env });
}

async function status(p: Promise<void>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as HttpException).getStatus();
  }
}

describe('ApiKeys', () => {
  it('leaves every route open, admin ones too, when no key is configured', async () => {
    const k = keys({});
    expect(k.enabled).toBe(false);
    expect(await status(k.check('key', undefined, 'a'))).toBe(200);
    expect(await status(k.check('admin', undefined, 'a'))).toBe(200);
  });

  it('needs a valid, unexpired key; admin routes need an admin key, which opens the rest too', async () => {
    const k = keys({ API_KEYS: `${USER}, old-key-0123456789abcdef@2020-01-01`, ADMIN_API_KEYS: ADMIN });
    expect(await status(k.check('public', undefined, 'a'))).toBe(200);
    expect(await status(k.check('key', undefined, 'a'))).toBe(401);
    expect(await status(k.check('key', 'wrong-key-0123456789abcdef', 'a'))).toBe(401);
    expect(await status(k.check('key', USER.slice(0, -1), 'a'))).toBe(401);
    expect(await status(k.check('key', 'old-key-0123456789abcdef', 'a'))).toBe(401);
    expect(await status(k.check('key', USER, 'a'))).toBe(200);
    expect(await status(k.check('admin', USER, 'a'))).toBe(403);
    expect(await status(k.check('admin', ADMIN, 'a'))).toBe(200);
    expect(await status(k.check('key', ADMIN, 'a'))).toBe(200);
  });

  it('closes admin routes when API_KEYS is set without ADMIN_API_KEYS', async () => {
    const k = keys({ API_KEYS: USER });
    await expect(k.check('admin', USER, 'a')).rejects.toThrow(/closed because API_KEYS is set/);
  });

  it('guards only the admin routes when ADMIN_API_KEYS is set alone', async () => {
    const k = keys({ ADMIN_API_KEYS: ADMIN });
    expect(await status(k.check('key', undefined, 'a'))).toBe(200);
    expect(await status(k.check('admin', undefined, 'a'))).toBe(401);
    expect(await status(k.check('admin', 'user-key-0123456789abcdef', 'a'))).toBe(401);
    expect(await status(k.check('admin', ADMIN, 'a'))).toBe(200);
  });

  it('answers 429 to an IP after AUTH_FAILURES_PER_MIN failures, even with a good key; other IPs are unaffected', async () => {
    const k = keys({ API_KEYS: USER, AUTH_FAILURES_PER_MIN: 3 });
    for (let i = 0; i < 3; i++)
      expect(await status(k.check('key', 'bad-key-0123456789abcdef', 'x'))).toBe(401);
    expect(await status(k.check('key', USER, 'x'))).toBe(429);
    await expect(k.check('key', USER, 'x')).rejects.toMatchObject({
      response: { details: { retryAfterS: expect.any(Number) } },
    });
    expect(await status(k.check('key', USER, 'y'))).toBe(200);
  });

  it('reads keys from a file, one per line with comments, and refuses weak or malformed ones at start-up', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keys-'));
    try {
      const file = path.join(dir, 'keys.txt');
      writeFileSync(file, `# team A\n${USER}\n\n${ADMIN}@2030-01-01T00:00:00Z  # until 2030\n`);
      expect(parseKeys(file, 'API_KEYS')).toEqual([
        { key: USER, expires: Infinity },
        { key: ADMIN, expires: Date.parse('2030-01-01T00:00:00Z') },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => parseKeys('short', 'API_KEYS')).toThrow(/API_KEYS, entry 1: a key needs at least 16/);
    expect(() => parseKeys(`${USER}@someday`, 'ADMIN_API_KEYS')).toThrow(
      /ADMIN_API_KEYS, entry 1: "someday"/,
    );
  });

  it('takes the key from Authorization: Bearer or X-API-Key', () => {
    expect(presentedKey({ authorization: `Bearer ${USER}` })).toBe(USER);
    expect(presentedKey({ authorization: `bearer  ${USER} ` })).toBe(USER);
    expect(presentedKey({ 'x-api-key': USER })).toBe(USER);
    expect(presentedKey({ authorization: `Basic ${USER}` })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});
