import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { startApp, TestApp } from '../../support/app';
import { pngBomb, solid } from '../../support/images';
import { abortedUpload, facePhoto, listFiles, multipart } from '../../support/uploads-fixtures';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uploads (real app, real files)', () => {
  let t: TestApp;
  let uploadDir: string;

  beforeAll(async () => {
    t = await startApp({ UPLOAD_MAX_BYTES: '1mb', UPLOADS_PAGE_SIZE: '2' }, { waitForModels: false });
    uploadDir = path.join(t.dataDir, 'uploads');
  });
  afterAll(() => t.close());
  afterEach(() => clear());

  function post(data: Buffer, filename: string | Buffer | { encoded: string }, field = 'file') {
    const { body, contentType } = multipart(data, filename, field);
    return request(t.url).post('/upload').set('Content-Type', contentType).send(body);
  }

  /** Image files and sidecars in UPLOAD_DIR, nothing else (no temporary files). */
  function stored(): string[] {
    return listFiles(uploadDir);
  }

  async function clear(): Promise<void> {
    const list = await request(t.url).get('/uploads?limit=100').expect(200);
    for (const item of list.body.items) await request(t.url).delete(`/uploads/${item.id}`).expect(204);
    expect(stored()).toEqual([]);
  }

  it('stores an image under a server id and answers as the original did, plus its facts', async () => {
    const photo = facePhoto('kit_with_rose.jpg');
    const res = await post(photo, '장미와 키트.jpg').expect(200);
    expect(res.body).toMatchObject({
      filename: '장미와 키트.jpg',
      message: 'Image uploaded.',
      size: photo.length,
      contentType: 'image/jpeg',
      width: 501,
      height: 700,
      sha256: createHash('sha256').update(photo).digest('hex'),
      duplicate: false,
    });
    expect(res.body.id).toMatch(UUID);
    expect(res.body.path).toBe(`/uploads/${res.body.id}`);
    expect(stored()).toEqual([`${res.body.id}.jpg`, `${res.body.id}.json`].sort());
    expect(readFileSync(path.join(uploadDir, `${res.body.id}.jpg`)).equals(photo)).toBe(true);

    const file = await request(t.url).get(res.body.path).buffer(true).expect(200);
    expect(file.headers['content-type']).toBe('image/jpeg');
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.headers['content-disposition']).toBe(
      `inline; filename="___ __.jpg"; filename*=UTF-8''${encodeURIComponent('장미와 키트.jpg')}`,
    );
    expect(Buffer.compare(file.body as Buffer, photo)).toBe(0);

    const meta = await request(t.url).get(`/uploads/${res.body.id}/meta`).expect(200);
    expect(meta.body).toMatchObject({
      id: res.body.id,
      filename: '장미와 키트.jpg',
      width: 501,
      height: 700,
    });
    await clear();
  });

  it('keeps every upload its own: the same bytes from Alice and Bob get two ids and names, and one delete leaves the other', async () => {
    const png = await solid(20, 10, [1, 2, 3]).png().toBuffer();
    const [alice, bob] = await Promise.all([post(png, 'alice.png'), post(png, 'bob.png')]);
    expect(alice.status).toBe(200);
    expect(bob.status).toBe(200);
    expect(alice.body.id).not.toBe(bob.body.id);
    expect(alice.body.originalName ?? alice.body.filename).not.toBe(
      bob.body.originalName ?? bob.body.filename,
    );
    const again = await post(png, 'carol.png').expect(200);
    expect(again.body).toMatchObject({
      duplicate: true,
      message: 'Image uploaded (the same image is also stored as another upload).',
    });
    expect(stored()).toHaveLength(6);
    await request(t.url).delete(`/uploads/${bob.body.id}`).expect(204);
    await request(t.url).get(`/uploads/${alice.body.id}`).expect(200);
    const list = await request(t.url).get('/uploads').expect(200);
    const items = list.body.items as { id: string; filename: string }[];
    expect(items.find((i) => i.id === alice.body.id)).toMatchObject({ filename: 'alice.png' });
    expect(items.find((i) => i.id === bob.body.id)).toBeUndefined();
    await request(t.url).get(`/uploads/${bob.body.id}`).expect(404);
    await clear();
  });

  it('never writes outside the upload folder, whatever the client names the file', async () => {
    const names: (string | { encoded: string })[] = [
      '../../x.png',
      '..\\..\\x.png',
      '/etc/passwd',
      'C:\\Windows\\evil.png',
      { encoded: '../../a\u0000b.png' },
      '.hidden.png',
      `${'ㄱ'.repeat(300)}.png`,
      { encoded: 'a"b<c>|d?\u202e.png\r\nX-Evil: 1' },
    ];
    const ids: string[] = [];
    for (const [i, name] of names.entries()) {
      const png = await solid(8 + i, 8, [i, 0, 0])
        .png()
        .toBuffer();
      const res = await post(png, name);
      expect([name, res.status, res.body.message]).toEqual([name, 200, 'Image uploaded.']);
      ids.push(res.body.id);
      const safe: string = res.body.filename;
      // eslint-disable-next-line no-control-regex
      expect(safe).not.toMatch(/[/\\\u0000-\u001f"<>|?*\u202e]/);
      expect(safe.startsWith('.')).toBe(false);
      expect([...safe].length).toBeLessThanOrEqual(200);
      expect(safe.length).toBeGreaterThan(0);
    }
    expect(stored()).toEqual(ids.flatMap((id) => [`${id}.json`, `${id}.png`]).sort());
    // Nothing appeared beside or above the upload folder.
    expect(listFiles(t.dataDir).filter((f) => !f.startsWith('uploads/'))).toEqual([]);
    expect(existsSync(path.resolve(uploadDir, '../../x.png'))).toBe(false);
    const long = await request(t.url).get(`/uploads/${ids[6]}/meta`).expect(200);
    expect(long.body.filename.endsWith('.png')).toBe(true);
    // A name that is only a path (multer then sees no file at all): refused, nothing written.
    for (const name of ['..', '../', '/']) {
      await post(await solid(9, 9).png().toBuffer(), { encoded: name }).expect(400);
    }
    expect(stored()).toHaveLength(ids.length * 2);
    await clear();
  });

  it('refuses a raw NUL byte in the part header as malformed, storing nothing', async () => {
    const png = await solid(8, 8).png().toBuffer();
    const res = await post(png, Buffer.from('a\u0000b.png')).expect(400);
    expect(res.body.message).toBe('Multipart: Malformed part header');
  });

  it('refuses what is not an image, whatever its name and declared type, and stores nothing', async () => {
    const { body, contentType } = multipart(
      Buffer.from('<?php system($_GET["c"]); ?>'),
      'shell.png',
      'file',
      'image/png',
    );
    const res = await request(t.url).post('/upload').set('Content-Type', contentType).send(body).expect(415);
    expect(res.body.message).toBe(
      'The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF expected).',
    );
    const svg = await post(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'a.svg').expect(415);
    expect(svg.body.statusCode).toBe(415);
    expect(stored()).toEqual([]);
  });

  it('refuses a truncated image with 422 and stores nothing', async () => {
    const jpeg = facePhoto('obama-480p.jpg');
    const res = await post(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'half.jpg').expect(422);
    expect(res.body.message).toBe('The JPEG image is truncated or corrupt.');
    const png = await solid(64, 64, [200, 10, 10]).png().toBuffer();
    await post(png.subarray(0, png.length - 30), 'half.png').expect(422);
    const damaged = Buffer.from(png);
    damaged[png.length - 20] ^= 0xff; // inside the last IDAT, whose CRC then fails
    await post(damaged, 'damaged.png').expect(422);
    const tiff = await solid(64, 64, [10, 10, 200]).tiff({ compression: 'lzw' }).toBuffer();
    const cut = await post(tiff.subarray(0, Math.floor(tiff.length / 2)), 'half.tiff').expect(422);
    expect(cut.body.message).toBe('The TIFF image is truncated or corrupt.');
    expect(stored()).toEqual([]);
  });

  it('refuses a decompression bomb from its header with 413 and stores nothing', async () => {
    const res = await post(pngBomb(), 'bomb.png').expect(413);
    expect(res.body.message).toMatch(/megapixels/);
    expect(stored()).toEqual([]);
  });

  it('refuses a file over UPLOAD_MAX_BYTES with 413 and stores nothing', async () => {
    const big = Buffer.concat([await solid(8, 8).png().toBuffer(), Buffer.alloc(1024 * 1024 + 10)]);
    const res = await post(big, 'big.png').expect(413);
    expect(res.body.message).toBe('The file is larger than the upload limit of 1 MB.');
    expect(stored()).toEqual([]);
  });

  it('asks for the field "file" when the image is elsewhere or missing', async () => {
    const png = await solid(8, 8).png().toBuffer();
    const wrong = await post(png, 'a.png', 'image').expect(400);
    expect(wrong.body.message).toBe('Send exactly one image, in the multipart form field "file".');
    const none = await request(t.url).post('/upload').expect(400);
    expect(none.body.message).toBe('Send the image in the multipart form field "file".');
    expect(stored()).toEqual([]);
  });

  it('leaves nothing behind when the client drops the connection mid-body', async () => {
    const photo = facePhoto('two_people.jpg');
    await abortedUpload(t.url, '/upload', photo, 200_000);
    expect(stored()).toEqual([]);
    // The server is fine afterwards.
    await request(t.url).get('/uploads').expect(200);
  });

  it('lists uploads newest first, a page at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(
        await solid(4, 4, [i * 10, 5, 5])
          .png()
          .toBuffer(),
        `p${i}.png`,
      ).expect(200);
      ids.push(res.body.id);
    }
    const newest = [...ids].reverse();
    const first = await request(t.url).get('/uploads').expect(200);
    expect(first.body).toMatchObject({ page: 1, limit: 2, total: 5, pages: 3 });
    expect(first.body.items.map((i: { id: string }) => i.id)).toEqual(newest.slice(0, 2));
    const last = await request(t.url).get('/uploads?page=3&limit=2').expect(200);
    expect(last.body.items.map((i: { id: string }) => i.id)).toEqual(newest.slice(4));
    const all = await request(t.url).get('/uploads?limit=100').expect(200);
    expect(all.body.items.map((i: { id: string }) => i.id)).toEqual(newest);
    expect(all.body.items[0]).toMatchObject({
      filename: 'p4.png',
      contentType: 'image/png',
      path: `/uploads/${ids[4]}`,
    });
    await request(t.url).get('/uploads?limit=0').expect(400);
    await request(t.url).get('/uploads?page=abc').expect(400);
    await request(t.url).get('/uploads?sort=name').expect(400);
    await clear();
  });

  it('deletes an upload with 204, and then it is gone', async () => {
    const res = await post(await solid(6, 6).png().toBuffer(), 'gone.png').expect(200);
    await request(t.url).delete(`/uploads/${res.body.id}`).expect(204);
    await request(t.url).get(`/uploads/${res.body.id}`).expect(404);
    await request(t.url).get(`/uploads/${res.body.id}/meta`).expect(404);
    await request(t.url).delete(`/uploads/${res.body.id}`).expect(404);
    expect(stored()).toEqual([]);
  });

  it('answers 404 for unknown and malformed ids, never touching other paths', async () => {
    const unknown = await request(t.url).get('/uploads/3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f').expect(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, message: 'There is no upload with this id.' });
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'abc', '3F0C2A9E-5B7D-4C1E-9A2F-6D8E4B1C0A7F']) {
      await request(t.url).get(`/uploads/${id}`).expect(404);
      await request(t.url).get(`/uploads/${id}/meta`).expect(404);
      await request(t.url).delete(`/uploads/${id}`).expect(404);
    }
  });

  it('documents its routes in OpenAPI', async () => {
    const doc = await request(t.url).get('/docs-json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/upload', '/uploads', '/uploads/{id}', '/uploads/{id}/meta']),
    );
    expect(doc.body.paths['/upload'].post.requestBody.content).toHaveProperty('multipart/form-data');
  });
});
