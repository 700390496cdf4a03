import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Instance, startInstance } from '../../support/instances';
import { FACES_DIR, listFiles } from '../../support/uploads-fixtures';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The store's promise after a crash (FsUploadStore): when the process dies, every upload that was answered is
 * whole and listed, nothing half-written is, and no temporary file is left once it starts again.
 */
describe('uploads across a crash (the built server, SIGKILL mid-traffic)', () => {
  let server: Instance;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'upload-crash-'));
    server = await startInstance({
      UPLOAD_DIR: path.join(dir, 'uploads'),
      OUTPUT_DIR: path.join(dir, 'output'),
      CHAT_INDEX_DIR: path.join(dir, 'index'),
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every answered upload whole, and nothing of the ones cut off', async () => {
    // Distinct photos of some size, so that a kill lands mid-write as well as mid-body.
    const base = await sharp(path.join(FACES_DIR, 'two_people.jpg'))
      .resize(1200, 900, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const photo = (i: number) => {
      const px = Buffer.from(base.data);
      px.writeUInt32LE(i, 0);
      return sharp(px, { raw: base.info }).jpeg({ quality: 90 }).toBuffer();
    };
    const photos = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(i)));
    const answered = new Map<string, string>();
    let sent = 0;
    let alive = true;
    const lane = async (k: number) => {
      for (let i = k; alive; i += 4) {
        const bytes = photos[i % photos.length];
        const form = new FormData();
        form.append('file', new Blob([bytes], { type: 'image/jpeg' }), `p${i}.jpg`);
        sent++;
        try {
          const res = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
          const body = (await res.json()) as { id: string; sha256: string };
          if (res.status === 200) answered.set(body.id, body.sha256);
        } catch {
          return; // the server died under this request
        }
      }
    };
    const lanes = [0, 1, 2, 3].map(lane);
    while (answered.size < 20) await new Promise((r) => setTimeout(r, 5));
    await server.stop('SIGKILL');
    alive = false;
    await Promise.all(lanes);
    expect(sent).toBeGreaterThan(answered.size); // some were cut off

    await server.restart();
    const listed = new Map<string, string>();
    for (let page = 1; ; page++) {
      const res = await fetch(`${server.url}/uploads?limit=100&page=${page}`);
      const body = (await res.json()) as { items: { id: string; sha256: string }[]; pages: number };
      for (const item of body.items) listed.set(item.id, item.sha256);
      if (page >= body.pages) break;
    }
    for (const [id, digest] of answered) expect(listed.get(id)).toBe(digest);
    // Every upload listed, answered or not, is whole: its bytes are the ones its record names.
    for (const [id, digest] of listed) {
      const file = Buffer.from(await (await fetch(`${server.url}/uploads/${id}`)).arrayBuffer());
      expect(sha(file)).toBe(digest);
    }
    // No temporary file survives the restart (listFiles leaves out the new, empty spares).
    const left = listFiles(path.join(dir, 'uploads')).filter((f) => f.startsWith('.'));
    expect(left).toEqual([]);
  }, 60_000);
});
