import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SPARE_FILE } from '../../../src/common/fs/spare-files';
import { FsUploadStore } from '../../../src/modules/uploads/fs-upload-store';
import { NewUpload } from '../../../src/modules/uploads/upload-store';
import { listFiles } from '../../support/uploads-fixtures';

const PNG: NewUpload = {
  originalName: 'a.png',
  format: 'png',
  contentType: 'image/png',
  width: 1,
  height: 1,
};

/** The folder's names but the store's empty spares (a spare with bytes in it is listed: a partial file). */
const names = listFiles;

describe('FsUploadStore (real files)', () => {
  let dir: string;
  let opened: FsUploadStore[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'upload-store-'));
    opened = [];
  });
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function store(): Promise<FsUploadStore> {
    const s = new FsUploadStore(path.join(dir, 'uploads'));
    opened.push(s);
    await s.init();
    return s;
  }

  const spares = (s: FsUploadStore) => readdirSync(s.dir).filter((f) => SPARE_FILE.test(f));
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(ok()).toBe(true);
  };

  it('creates its folder, stores the bytes under <id>.<ext> with a JSON sidecar', async () => {
    const s = await store();
    const data = Buffer.from('png bytes');
    const { record, duplicate } = await s.save(data, PNG);
    expect(duplicate).toBe(false);
    expect(record).toMatchObject({ size: 9, sha256: createHash('sha256').update(data).digest('hex') });
    expect(names(s.dir).sort()).toEqual([`${record.id}.json`, `${record.id}.png`]);
    expect((await s.read(record.id))?.equals(data)).toBe(true);
    expect(await s.get(record.id)).toEqual(record);
  });

  it('gives identical bytes uploaded twice, also concurrently, their own ids, names and files', async () => {
    const s = await store();
    const data = Buffer.from('same');
    const alice = await s.save(data, { ...PNG, originalName: 'alice.png' });
    expect(alice.duplicate).toBe(false);
    const others = await Promise.all(
      [1, 2, 3].map((i) => s.save(data, { ...PNG, originalName: `bob${i}.png` })),
    );
    expect(others.every((r) => r.duplicate)).toBe(true);
    const ids = [alice, ...others].map((r) => r.record.id);
    expect(new Set(ids).size).toBe(4);
    expect(names(s.dir)).toHaveLength(8);
    // Deleting one removes that upload only.
    await s.delete(others[0].record.id);
    expect((await s.get(alice.record.id))?.originalName).toBe('alice.png');
    expect((await s.read(alice.record.id))?.equals(data)).toBe(true);
    expect(await s.get(others[0].record.id)).toBeNull();
    await Promise.all([alice, ...others.slice(1)].map((r) => s.delete(r.record.id)));
    expect((await s.save(data, PNG)).duplicate).toBe(false);
  });

  it('keeps nothing when the check it waits for fails, and the upload only once the check passed', async () => {
    const s = await store();
    const refused = new Error('The PNG image is truncated or corrupt.');
    let fail!: (e: Error) => void;
    const failing = new Promise((_, reject) => (fail = reject));
    const saving = s.save(Buffer.from('half a png'), PNG, { valid: failing });
    // Written meanwhile, but under temporary names only: nothing is an upload yet.
    await new Promise((r) => setTimeout(r, 50));
    expect(names(s.dir).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(await s.count()).toBe(0);
    fail(refused);
    await expect(saving).rejects.toBe(refused);
    expect(names(s.dir)).toEqual([]);
    expect(await s.count()).toBe(0);

    // A check that fails before the store reaches it (no unhandled rejection meanwhile) refuses likewise.
    await expect(s.save(Buffer.from('x'), PNG, { valid: Promise.reject(refused) })).rejects.toBe(refused);
    expect(names(s.dir)).toEqual([]);

    const { record } = await s.save(Buffer.from('whole'), PNG, { valid: Promise.resolve() });
    expect(names(s.dir).sort()).toEqual([`${record.id}.json`, `${record.id}.png`]);
  });

  it('takes a sha256 hashed while the bytes arrived, and lists its own uploads without re-reading the folder', async () => {
    const s = await store();
    const data = Buffer.from('streamed');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const { record } = await s.save(data, PNG, { sha256 });
    expect(record.sha256).toBe(sha256);
    expect((await s.save(data, PNG)).duplicate).toBe(true);
    // Its own writes change the folder's mtime; they are listed at once all the same, newest first.
    const more = await Promise.all([1, 2, 3].map((i) => s.save(Buffer.from(`n${i}`), PNG)));
    expect(
      (await s.all())
        .map((r) => r.id)
        .slice(0, 3)
        .sort(),
    ).toEqual(more.map((m) => m.record.id).sort());
    expect(await s.count()).toBe(5);
  });

  it('reloads its index from the sidecars, removing leftovers of interrupted writes', async () => {
    const first = await store();
    const a = (await first.save(Buffer.from('a'), PNG)).record;
    const b = (await first.save(Buffer.from('b'), { ...PNG, format: 'jpeg', contentType: 'image/jpeg' }))
      .record;
    writeFileSync(path.join(first.dir, '.tmp-3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f'), 'half a file');
    writeFileSync(path.join(first.dir, '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f.json'), '{ not json');
    writeFileSync(path.join(first.dir, 'notes.txt'), 'somebody else’s file');

    const second = await store();
    expect((await second.all()).map((r) => r.id)).toEqual([b.id, a.id]);
    expect(names(second.dir).some((f) => f.startsWith('.tmp-'))).toBe(false);
    expect(names(second.dir)).toContain('notes.txt');
    expect((await second.save(Buffer.from('a'), PNG)).duplicate).toBe(true);
    expect((await second.get(b.id))?.contentType).toBe('image/jpeg');
  });

  it('sees an upload stored by another instance sharing the folder', async () => {
    const one = await store();
    const two = await store();
    const { record } = await one.save(Buffer.from('shared'), PNG);
    expect(await two.get(record.id)).toEqual(record);
    // Lists too (GET /uploads, GET /mosaic and jobs on a replica), and a deletion made by the other one.
    const other = (await one.save(Buffer.from('listed'), PNG)).record;
    expect((await two.all()).map((r) => r.id)).toEqual([other.id, record.id]);
    expect(await two.count()).toBe(2);
    await one.delete(record.id);
    expect((await two.list(0, 10)).items.map((r) => r.id)).toEqual([other.id]);
  });

  it('forgets an upload whose file disappeared, and refuses ids that are not UUIDs', async () => {
    const s = await store();
    const { record } = await s.save(Buffer.from('x'), PNG);
    rmSync(path.join(s.dir, `${record.id}.png`));
    expect(await s.get(record.id)).toBeNull();
    expect(await s.count()).toBe(0);
    for (const id of ['../uploads', '', 'x'.repeat(36), record.id.toUpperCase()]) {
      expect(await s.get(id)).toBeNull();
      expect(await s.delete(id)).toBe(false);
      expect(await s.read(id)).toBeNull();
    }
  });

  it('writes uploads into empty spare files made ahead, makes them again after, and removes them at close', async () => {
    const s = await store();
    await until(() => spares(s).length === 8);
    const before = new Set(spares(s));
    const { record } = await s.save(Buffer.from('into a spare'), PNG);
    // Two spares became the image and its sidecar (renamed, so no new file was made for them).
    expect(spares(s).filter((f) => before.has(f))).toHaveLength(6);
    expect((await s.read(record.id))?.toString()).toBe('into a spare');
    await until(() => spares(s).length === 8);
    expect(names(s.dir).sort()).toEqual([`${record.id}.json`, `${record.id}.png`]);
    // Another instance's start-up removes this one's spares (as leftovers): its next save makes its files again.
    for (const f of spares(s)) rmSync(path.join(s.dir, f));
    const next = await s.save(Buffer.from('after the sweep'), PNG);
    expect((await s.read(next.record.id))?.toString()).toBe('after the sweep');
    expect(names(s.dir)).toHaveLength(4);
    await s.close();
    expect(spares(s)).toEqual([]);
  });

  it('pages newest first', async () => {
    const s = await store();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.save(Buffer.from([i]), PNG)).record.id);
    const page = await s.list(1, 2);
    expect(page.total).toBe(5);
    expect(page.items.map((r) => r.id)).toEqual([ids[3], ids[2]]);
  });
});
