import { StagedFile, stageFile, TEMP_FILE } from '../../common/fs/atomic-write';
import { SPARE_FILE, SpareFiles } from '../../common/fs/spare-files';
import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { IMAGE_MIME, ImageFormat } from '../../common/image/image-format';
import { FORMAT_EXTENSION } from './file-names';
import { NewUpload, SaveOptions, SaveResult, UploadPage, UploadRecord, UploadStore } from './upload-store';

/** Upload ids are version-4 UUIDs; anything else is unknown (and never reaches the file system). */
export const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const TEMP_PREFIX = '.tmp-';
const FORMATS = Object.keys(FORMAT_EXTENSION) as ImageFormat[];

interface Entry {
  record: UploadRecord;
  /** Insertion order, to keep "newest first" stable within one millisecond. */
  seq: number;
}

/**
 * Uploads on the local file system, in one flat folder:
 *
 *     <UPLOAD_DIR>/<id>.<ext>    the image, <ext> from its real format
 *     <UPLOAD_DIR>/<id>.json     its UploadRecord (the sidecar; a file without one is not an upload)
 *
 * Every file is written to a hidden temporary file in the same folder and renamed when complete (stageFile),
 * the image before its sidecar, so a crash or a failed write never leaves a half file under a real name;
 * leftovers are removed by init(). The temporary files are spares made ahead of time when one is ready
 * (SpareFiles: making a file costs more than the rest of a small upload on some volumes). What survives a
 * crash: after the process dies (SIGKILL, OOM), every upload that was answered is whole and listed, and
 * nothing else is; there is no fsync, so after a power loss the last uploads before it may be missing (their
 * sidecar or image absent or empty, and then not listed).
 * Names on disk come only from server-generated ids, never from the client.
 * An in-memory index (by id, and ids by sha256) answers lists and says whether the same bytes are already
 * stored. Every upload is its own: identical bytes uploaded twice (by two people) get two ids, two names and
 * two files, so deleting one never removes the other. Instances sharing the folder (replicas on one volume)
 * see each other's uploads: lists re-read the folder when its modification time changed for a reason other
 * than this instance's own writes, and at least every RESCAN_MS while in use.
 */
/** How stale a list may be about a replica's upload that raced one of this instance's own writes. */
const RESCAN_MS = 2000;

export class FsUploadStore extends UploadStore {
  private readonly logger = new Logger(FsUploadStore.name);
  private readonly byId = new Map<string, Entry>();
  private readonly bySha = new Map<string, Set<string>>();
  private seq = 0;
  private lastCreated = 0;
  /** The folder's mtime when the index was last synchronised with it. */
  private syncedMtime = 0;
  /** When the folder was last read whole. */
  private rescannedAt = 0;
  /** This instance's writes and deletes not yet adopted (their change of the folder's mtime is no news). */
  private ownChanges = 0;
  private readonly spares: SpareFiles;

  constructor(readonly dir: string) {
    super();
    this.spares = new SpareFiles(dir);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const names = await fs.readdir(this.dir);
    let stale = 0;
    const records: UploadRecord[] = [];
    for (const name of names) {
      // A crash mid-write leaves a temporary file (`.tmp-<uuid>` from earlier versions).
      if (name.startsWith(TEMP_PREFIX) || TEMP_FILE.test(name)) {
        await fs.rm(path.join(this.dir, name), { force: true });
        if (!SPARE_FILE.test(name)) stale++; // an empty spare is no unfinished upload
        continue;
      }
      const m = /^(.+)\.json$/.exec(name);
      if (!m || !UPLOAD_ID.test(m[1])) continue;
      const record = await this.readSidecar(m[1]);
      if (record) records.push(record);
    }
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const r of records) this.index(r);
    if (stale > 0) this.logger.warn(`removed ${stale} unfinished upload(s) from ${this.dir}`);
    this.refill();
  }

  close(): Promise<void> {
    return this.spares.close();
  }

  async save(data: Buffer, upload: NewUpload, options: SaveOptions = {}): Promise<SaveResult> {
    // Handled from now on: it may reject before write() awaits it, or be moot when a write fails first.
    options.valid?.catch(() => undefined);
    const sha256 = options.sha256 ?? createHash('sha256').update(data).digest('hex');
    await this.sync();
    const duplicate = (this.bySha.get(sha256)?.size ?? 0) > 0;
    this.ownChanges++;
    try {
      const record = await this.write(data, upload, sha256, options.valid);
      return { record, duplicate };
    } finally {
      // Not awaited: the answer needs nothing of it (sync() takes the change as its own until it is done).
      void this.adoptOwnChange();
      this.refill();
    }
  }

  async list(offset: number, limit: number): Promise<UploadPage> {
    const all = await this.all();
    return { items: all.slice(offset, offset + limit), total: all.length };
  }

  async count(): Promise<number> {
    await this.sync();
    return this.byId.size;
  }

  async all(): Promise<UploadRecord[]> {
    await this.sync();
    return [...this.byId.values()]
      .sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt) || b.seq - a.seq)
      .map((e) => e.record);
  }

  async get(id: string): Promise<UploadRecord | null> {
    if (!UPLOAD_ID.test(id)) return null;
    const known = this.byId.get(id)?.record;
    // Another instance sharing the folder may have stored it: the sidecar on disk is the truth.
    const record = known ?? (await this.readSidecar(id));
    if (!record) return null;
    if (!(await this.exists(this.pathOf(record)))) {
      this.unindex(record);
      return null;
    }
    if (!known) this.index(record);
    return record;
  }

  async filePath(id: string): Promise<string | null> {
    const record = await this.get(id);
    return record ? this.pathOf(record) : null;
  }

  async read(id: string): Promise<Buffer | null> {
    const file = await this.filePath(id);
    if (!file) return null;
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    await this.sync();
    this.ownChanges++;
    this.unindex(record);
    try {
      // Sidecar first: once it is gone the upload no longer exists, even if removing the image fails.
      await fs.rm(this.sidecarOf(id), { force: true });
      await fs.rm(this.pathOf(record), { force: true });
    } finally {
      await this.adoptOwnChange();
    }
    return true;
  }

  private async write(
    data: Buffer,
    upload: NewUpload,
    sha256: string,
    valid?: Promise<unknown>,
  ): Promise<UploadRecord> {
    const id = randomUUID();
    const record: UploadRecord = {
      id,
      originalName: upload.originalName,
      size: data.length,
      format: upload.format,
      contentType: IMAGE_MIME[upload.format],
      width: upload.width,
      height: upload.height,
      sha256,
      createdAt: this.nextTimestamp(),
    };
    // Both files are written side by side (and while `valid` still runs); the renames make the upload visible,
    // the sidecar last, so a crash between them leaves an image that is no upload.
    const staged = await Promise.allSettled([
      stageFile(this.pathOf(record), data, { spares: this.spares }),
      stageFile(this.sidecarOf(id), Buffer.from(JSON.stringify(record, null, 1)), { spares: this.spares }),
    ]);
    const files = staged.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const committed: StagedFile[] = [];
    try {
      for (const s of staged) if (s.status === 'rejected') throw s.reason;
      await valid;
      for (const f of files) {
        await f.commit();
        committed.push(f);
      }
    } catch (err) {
      await Promise.all(files.map((f) => f.discard()));
      await Promise.all(committed.map((f) => fs.rm(f.file, { force: true })));
      throw err;
    }
    this.index(record);
    return record;
  }

  /** New spares change the folder's mtime too: one of this instance's own changes. */
  private refill(): void {
    const making = this.spares.fill();
    if (!making) return;
    this.ownChanges++;
    void making.then(() => this.adoptOwnChange());
  }

  /** Now, but strictly after the previous upload of this process, so "newest first" survives a restart. */
  private nextTimestamp(): string {
    this.lastCreated = Math.max(Date.now(), this.lastCreated + 1);
    return new Date(this.lastCreated).toISOString();
  }

  private async readSidecar(id: string): Promise<UploadRecord | null> {
    let raw: string;
    try {
      raw = await fs.readFile(this.sidecarOf(id), 'utf8');
    } catch {
      return null;
    }
    try {
      const r = JSON.parse(raw) as Partial<UploadRecord>;
      const valid =
        r.id === id &&
        typeof r.format === 'string' &&
        FORMATS.includes(r.format) &&
        typeof r.sha256 === 'string' &&
        typeof r.createdAt === 'string' &&
        typeof r.size === 'number' &&
        typeof r.width === 'number' &&
        typeof r.height === 'number' &&
        typeof r.originalName === 'string';
      if (!valid) throw new Error('missing fields');
      return { ...(r as UploadRecord), contentType: IMAGE_MIME[r.format as ImageFormat] };
    } catch {
      this.logger.warn(`ignoring the unreadable upload record ${id}.json`);
      return null;
    }
  }

  /**
   * Brings the index in line with the folder when another process (a replica) added or removed uploads:
   * a sidecar appearing or disappearing changes the folder's mtime, so an unchanged folder costs one stat.
   * While this instance's own writes are under way the change is theirs: concurrent uploads would otherwise
   * re-read the whole folder for each other, O(stored uploads) each.
   */
  private async sync(): Promise<void> {
    let mtime: number;
    let names: string[];
    let listedAfter: number;
    const own = this.ownChanges;
    try {
      mtime = (await fs.stat(this.dir)).mtimeMs;
      const explained = mtime === this.syncedMtime || own > 0;
      if (explained && Date.now() - this.rescannedAt < RESCAN_MS) return;
      listedAfter = this.seq;
      names = await fs.readdir(this.dir);
    } catch {
      return; // no folder (yet): nothing stored
    }
    this.rescannedAt = Date.now();
    this.syncedMtime = mtime;
    const onDisk = new Set<string>();
    for (const name of names) {
      const m = /^(.+)\.json$/.exec(name);
      if (m && UPLOAD_ID.test(m[1])) onDisk.add(m[1]);
    }
    // An upload of ours committed while the folder was being read may be missing from the listing: kept.
    for (const { record, seq } of [...this.byId.values()]) {
      if (seq < listedAfter && !onDisk.has(record.id)) this.unindex(record);
    }
    const added: UploadRecord[] = [];
    for (const id of onDisk) {
      if (this.byId.has(id)) continue;
      const record = await this.readSidecar(id);
      if (record && (await this.exists(this.pathOf(record)))) added.push(record);
    }
    added.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const r of added) this.index(r);
  }

  /**
   * After a write or delete of this instance: once the last of its own changes is over, the folder's mtime is
   * their doing, so the next call needs no re-read (sync() ran just before each of them). A replica's write
   * landing in between is seen by the next re-read, within RESCAN_MS.
   */
  private async adoptOwnChange(): Promise<void> {
    try {
      const mtime = (await fs.stat(this.dir)).mtimeMs;
      if (this.ownChanges === 1) this.syncedMtime = mtime; // no other change of ours under way
    } catch {
      // the folder is gone: the next sync() finds out
    } finally {
      this.ownChanges--;
    }
  }

  private index(record: UploadRecord): void {
    this.byId.set(record.id, { record, seq: this.seq++ });
    const ids = this.bySha.get(record.sha256) ?? new Set<string>();
    ids.add(record.id);
    this.bySha.set(record.sha256, ids);
  }

  private unindex(record: UploadRecord): void {
    this.byId.delete(record.id);
    const ids = this.bySha.get(record.sha256);
    ids?.delete(record.id);
    if (ids?.size === 0) this.bySha.delete(record.sha256);
  }

  private pathOf(record: UploadRecord): string {
    return path.join(this.dir, `${record.id}.${FORMAT_EXTENSION[record.format]}`);
  }

  private sidecarOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private async exists(file: string): Promise<boolean> {
    try {
      return (await fs.stat(file)).isFile();
    } catch {
      return false;
    }
  }
}
