import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { SHARED } from './app';

export const FACES_DIR = path.join(SHARED, 'faces');

/** A photo of ../shared/datasets/faces (read, never copied into the repository). */
export function facePhoto(name: string): Buffer {
  return readFileSync(path.join(FACES_DIR, name));
}

/**
 * A multipart/form-data body built by hand, so the file name reaches the server byte for byte (client
 * libraries strip paths from names, which would hide what a hostile client can send). A name given as
 * `{ encoded }` is sent as RFC 5987 `filename*=UTF-8''…`, which can carry any character (NUL, quotes).
 */
export function multipart(
  data: Buffer,
  filename: string | Buffer | { encoded: string },
  field = 'file',
  contentType = 'application/octet-stream',
): { body: Buffer; contentType: string } {
  const boundary = `----ko-ai-test-${Math.random().toString(16).slice(2)}`;
  const name =
    typeof filename === 'object' && !Buffer.isBuffer(filename)
      ? Buffer.from(`filename*=UTF-8''${encodeURIComponent(filename.encoded)}`)
      : Buffer.concat([Buffer.from('filename="'), Buffer.from(filename), Buffer.from('"')]);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; `),
    name,
    Buffer.from(`\r\nContent-Type: ${contentType}\r\n\r\n`),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

export { listFiles } from './files';

/**
 * Sends the headers and the first `sendBytes` of a multipart upload over a raw socket, then drops the
 * connection mid-body, as a client that crashes or loses its network would.
 */
export async function abortedUpload(
  url: string,
  route: string,
  data: Buffer,
  sendBytes: number,
): Promise<void> {
  const { port, hostname } = new URL(url);
  const { body, contentType } = multipart(data, 'aborted.jpg');
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `POST ${route} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, sendBytes));
  await new Promise((r) => setTimeout(r, 300));
  socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
}
