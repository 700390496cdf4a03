import { mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppConfig } from '../../../src/config/app.config';
import { FsOutputStore } from '../../../src/modules/outputs/fs-output-store';

describe('FsOutputStore (OUTPUT_DIR on disk)', () => {
  let dir: string;
  const store = (maxAgeS: number, maxBytes: number) =>
    new FsOutputStore({ OUTPUT_DIR: dir } as AppConfig, {
      OUTPUT_MAX_AGE_S: maxAgeS,
      OUTPUT_MAX_BYTES: maxBytes,
      OUTPUT_SWEEP_INTERVAL_S: 0,
    });
  /** A file written `ageS` seconds ago. */
  const old = (name: string, bytes: number, ageS: number) => {
    const file = path.join(dir, name);
    writeFileSync(file, Buffer.alloc(bytes, 1));
    const t = (Date.now() - ageS * 1000) / 1000;
    utimesSync(file, t, t);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'outputs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes files past OUTPUT_MAX_AGE_S, then the oldest until the folder fits OUTPUT_MAX_BYTES', async () => {
    old('a-week-old.png', 100, 8 * 24 * 3600);
    old('oldest.png', 400, 3000);
    old('older.png', 400, 2000);
    old('new.png', 400, 10);
    const r = await store(7 * 24 * 3600, 1000).sweep();
    expect(r).toEqual({ removed: 2, freedBytes: 500, keptFiles: 2, keptBytes: 800 });
    expect(readdirSync(dir).sort()).toEqual(['new.png', 'older.png']);
  });

  it('keeps everything with both limits off, but removes temporary files a crash left an hour ago', async () => {
    old('kept.png', 10, 365 * 24 * 3600);
    old('.kept.png.0123456789ab.tmp', 10, 2 * 3600);
    old('.fresh.png.0123456789ab.tmp', 10, 5);
    const r = await store(0, 0).sweep();
    expect(r.removed).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['.fresh.png.0123456789ab.tmp', 'kept.png']);
  });

  it('sweeps as soon as writes take the folder past its budget', async () => {
    const s = store(0, 1000);
    await s.write('one.png', Buffer.alloc(600));
    await new Promise((r) => setTimeout(r, 20));
    await s.write('two.png', Buffer.alloc(600));
    await s.sweep(); // joins the sweep the second write started
    expect(readdirSync(dir)).toEqual(['two.png']);
  });

  it('removes and opens only plain files by safe name', async () => {
    const s = store(0, 0);
    await s.write('x.png', Buffer.from('png'));
    symlinkSync(path.join(dir, 'x.png'), path.join(dir, 'link.png'));
    expect(await s.open('link.png')).toBeNull();
    expect(await s.open('../x.png')).toBeNull();
    const opened = await s.open('x.png');
    expect(opened?.size).toBe(3);
    await opened?.handle.close();
    expect(await s.remove('link.png')).toBe(false);
    expect(await s.remove('x.png')).toBe(true);
    expect(await s.remove('x.png')).toBe(false);
    await expect(s.write('../escape.png', Buffer.from('x'))).rejects.toThrow(/unsafe/);
  });
});
