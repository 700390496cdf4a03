import { HttpException } from '@nestjs/common';

/** The status and message of the HttpException `p` rejects with; fails the test when it resolves. */
export async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpException) return [e.getStatus(), e.message];
    throw e;
  }
  throw new Error('expected a refusal');
}
