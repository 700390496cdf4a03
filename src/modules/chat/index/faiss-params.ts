import { Index, IndexFlatIP } from 'faiss-node';
import { execFileSync } from 'node:child_process';

/**
 * faiss-node exposes no setter for FAISS's search parameters (HNSW `efConstruction`/`efSearch`, IVF
 * `nprobe`), and their defaults (efSearch 16, nprobe 1) give poor recall. They are plain fields of FAISS's
 * serialised index, so we set them by rewriting that field of the index's own serialisation and reading
 * it back. The layouts are those of faiss/impl/index_write.cpp (stable since FAISS 1.5, checked with 1.7.3);
 * every patch first checks that the layout reads as expected and otherwise refuses.
 */

/** Offset just past `write_index_header` (fourcc, d, ntotal, two dummies, is_trained, metric[, metric_arg]). */
function afterHeader(buf: Buffer): number {
  const metric = buf.readInt32LE(4 + 4 + 8 + 8 + 8 + 1);
  return 4 + 4 + 8 + 8 + 8 + 1 + 4 + (metric > 1 ? 4 : 0);
}

function fourcc(buf: Buffer): string {
  return buf.subarray(0, 4).toString('latin1');
}

interface HnswFields {
  efConstruction: number;
  efSearch: number;
  /** Byte offset of efConstruction (efSearch follows it). */
  offset: number;
}

function readHnswFields(buf: Buffer): HnswFields {
  if (fourcc(buf) !== 'IHNf') throw new Error(`not a serialised IndexHNSWFlat (fourcc ${fourcc(buf)})`);
  let off = afterHeader(buf);
  // assign_probas (double), cum_nneighbor_per_level (int), levels (int), offsets (size_t), neighbors (int).
  for (const width of [8, 4, 4, 8, 4]) {
    const n = Number(buf.readBigUInt64LE(off));
    off += 8 + n * width;
    if (off > buf.length) throw new Error('the HNSW layout does not match FAISS 1.x');
  }
  off += 4 + 4; // entry_point, max_level
  const efConstruction = buf.readInt32LE(off);
  const efSearch = buf.readInt32LE(off + 4);
  if (efConstruction <= 0 || efSearch <= 0 || efConstruction > 1e6 || efSearch > 1e6)
    throw new Error('the HNSW layout does not match FAISS 1.x');
  return { efConstruction, efSearch, offset: off };
}

export function hnswParams(index: Index): { efConstruction: number; efSearch: number } {
  const { efConstruction, efSearch } = readHnswFields(index.toBuffer());
  return { efConstruction, efSearch };
}

/** A copy of an HNSW index with other efConstruction (matters for later adds) and efSearch. */
export function withHnswParams(index: Index, p: { efConstruction?: number; efSearch?: number }): Index {
  const buf = index.toBuffer();
  const f = readHnswFields(buf);
  if (p.efConstruction !== undefined) buf.writeInt32LE(p.efConstruction, f.offset);
  if (p.efSearch !== undefined) buf.writeInt32LE(p.efSearch, f.offset + 4);
  return Index.fromBuffer(buf);
}

function ivfOffsets(buf: Buffer): { nlist: number; nprobeOffset: number } {
  if (fourcc(buf) !== 'IwFl') throw new Error(`not a serialised IndexIVFFlat (fourcc ${fourcc(buf)})`);
  const off = afterHeader(buf);
  return { nlist: Number(buf.readBigUInt64LE(off)), nprobeOffset: off + 8 };
}

export function ivfParams(index: Index): { nlist: number; nprobe: number } {
  const buf = index.toBuffer();
  const { nlist, nprobeOffset } = ivfOffsets(buf);
  return { nlist, nprobe: Number(buf.readBigUInt64LE(nprobeOffset)) };
}

/** A copy of an IVF index that probes `nprobe` lists per query (at most nlist). */
export function withIvfNprobe(index: Index, nprobe: number, expectedNlist: number): Index {
  const buf = index.toBuffer();
  const { nlist, nprobeOffset } = ivfOffsets(buf);
  if (nlist !== expectedNlist) throw new Error(`the IVF layout does not match FAISS 1.x (nlist ${nlist})`);
  buf.writeBigUInt64LE(BigInt(Math.max(1, Math.min(nprobe, nlist))), nprobeOffset);
  return Index.fromBuffer(buf);
}

let blas: boolean | undefined;

/**
 * Whether FAISS can reach BLAS. FAISS calls BLAS (sgemm) to train IVF lists and to search many queries at
 * once; a faiss-node linked against a static libfaiss without `-lblas` dies with "undefined symbol: sgemm_"
 * the first time it does, taking the process with it. So it is tried once in a child process.
 */
export function faissHasBlas(): boolean {
  if (blas !== undefined) return blas;
  const probe = `
    const { Index, IndexFlatL2 } = require(${JSON.stringify(require.resolve('faiss-node'))});
    const x = Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i));
    const flat = new IndexFlatL2(4); flat.add(x); flat.search(x, 1);
    const ivf = Index.fromFactory(4, 'IVF2,Flat', 0); ivf.train(x);
    process.stdout.write('ok');`;
  try {
    blas =
      execFileSync(process.execPath, ['-e', probe], { timeout: 60_000, stdio: 'pipe' }).toString() === 'ok';
  } catch {
    blas = false;
  }
  return blas;
}

const FLAT_HEADER = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 8;

/**
 * A serialised IndexFlatIP (fourcc "IxFI", the index header, then the vectors as one float array), filled
 * in place: `Index.fromBuffer` then loads n vectors in one copy, where faiss-node's `add` converts every
 * number through N-API (seconds for a corpus of 10k × 4096). `flatLayoutMatches` checks the layout against
 * FAISS's own serialisation once.
 */
export class FlatIpBuffer {
  readonly buffer: Buffer;

  constructor(
    readonly dim: number,
    readonly n: number,
  ) {
    this.buffer = Buffer.alloc(FLAT_HEADER + n * dim * 4);
    const b = this.buffer;
    b.write('IxFI', 0, 'latin1');
    b.writeInt32LE(dim, 4);
    b.writeBigInt64LE(BigInt(n), 8);
    b.writeBigInt64LE(1n << 20n, 16); // two unused fields FAISS writes as 1 << 20
    b.writeBigInt64LE(1n << 20n, 24);
    b.writeUInt8(1, 32); // is_trained
    b.writeInt32LE(0, 33); // METRIC_INNER_PRODUCT
    b.writeBigUInt64LE(BigInt(n * dim), 37); // number of floats that follow
  }

  set(row: number, vector: Float32Array): void {
    if (vector.length !== this.dim)
      throw new Error(`a vector has ${vector.length} dimensions instead of ${this.dim}`);
    Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(
      this.buffer,
      FLAT_HEADER + row * this.dim * 4,
    );
  }

  toIndex(): Index {
    return Index.fromBuffer(this.buffer);
  }
}

let flatLayout: boolean | undefined;

/** Whether FlatIpBuffer writes exactly what this FAISS writes for the same vectors (little-endian, 1.x). */
export function flatLayoutMatches(): boolean {
  if (flatLayout !== undefined) return flatLayout;
  const vectors = [Float32Array.from([0.5, -1, 2]), Float32Array.from([3, 0.25, -4])];
  const ours = new FlatIpBuffer(3, 2);
  vectors.forEach((v, i) => ours.set(i, v));
  const theirs = new IndexFlatIP(3);
  theirs.add(vectors.flatMap((v) => Array.from(v)));
  flatLayout = ours.buffer.equals(theirs.toBuffer());
  return flatLayout;
}
