/**
 * The API key a request (or a socket.io handshake) presents in its headers: `Authorization: Bearer <key>`
 * (what the OpenAI clients send) or `X-API-Key`.
 */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}
