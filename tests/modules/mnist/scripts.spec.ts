import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/app';
import { MNIST_DIR, TRAIN_IMAGES, TRAIN_LABELS } from '../../support/mnist-fixtures';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

function serve(handler: (name: string, res: import('node:http').ServerResponse) => void): Promise<Server> {
  const server = createServer((req, res) => handler(path.basename(req.url ?? ''), res));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('npm run data:mnist (scripts/data-mnist.js)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mnist-data-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails within seconds with a clear message when no mirror can be reached', async () => {
    // A port nobody listens on: connection refused, like a machine without network.
    const closed = await serve(() => undefined);
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await run(['scripts/data-mnist.js', '--dir', dir, '--timeout', '3'], {
      MNIST_MIRRORS: `http://127.0.0.1:${port}/a,http://127.0.0.1:${port}/b`,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain('Could not get the MNIST training files');
    expect(r.stderr).toContain('connection refused');
    expect(r.stderr).toContain('This machine seems to be offline.');
    expect(r.stderr).toMatch(/--from .*MNIST_DIR/);
    expect(readdirSync(dir)).toEqual([]); // nothing half-written
  });

  it('downloads from a mirror, checks the MD5 sums, and keeps intact files on a second run', async () => {
    const files: Record<string, string> = {
      'train-images-idx3-ubyte.gz': TRAIN_IMAGES,
      'train-labels-idx1-ubyte.gz': TRAIN_LABELS,
    };
    const mirror = await serve((name, res) => {
      if (!files[name]) {
        res.statusCode = 404;
        res.end();
        return;
      }
      createReadStream(files[name]).pipe(res);
    });
    try {
      const url = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/mnist/`;
      const first = await run(['scripts/data-mnist.js', '--dir', dir], { MNIST_MIRRORS: url });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('train-images-idx3-ubyte.gz: downloading');
      expect(first.stdout).toContain('OK (9912422 bytes, md5 f68b3c2dcbeaaa9fbdd348bbdeb94873)');
      expect(first.stderr).toMatch(
        /warning: t10k-images-idx3-ubyte\.gz \(test split, only for eval:mnist\): .*HTTP 404/,
      );
      expect(statSync(path.join(dir, 'train-images-idx3-ubyte.gz')).size).toBe(9912422);
      expect(readdirSync(dir).sort()).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
      const second = await run(['scripts/data-mnist.js', '--dir', dir], { MNIST_MIRRORS: url });
      expect(second.stdout).toContain('train-images-idx3-ubyte.gz: already there, checksum OK');
    } finally {
      await new Promise((r) => mirror.close(r));
    }
  });

  it('refuses a file whose checksum is wrong', async () => {
    const mirror = await serve((name, res) =>
      res.end(name.includes('labels') ? Buffer.alloc(28881, 7) : 'nope'),
    );
    try {
      const url = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`;
      const r = await run(['scripts/data-mnist.js', '--dir', dir], { MNIST_MIRRORS: url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /train-labels-idx1-ubyte\.gz: 127\.0\.0\.1:\d+: checksum mismatch \(got 28881 bytes, md5 [0-9a-f]{32}; expected 28881, d53e105ee54ea40749a09fcbcd1e9432\)/,
      );
      expect(existsSync(path.join(dir, 'train-labels-idx1-ubyte.gz'))).toBe(false);
    } finally {
      await new Promise((r) => mirror.close(r));
    }
  });

  it('copies and checks the files from a local folder with --from', async () => {
    const r = await run(['scripts/data-mnist.js', '--dir', dir, '--from', MNIST_DIR]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('train-labels-idx1-ubyte.gz: copied from');
    expect(readdirSync(dir).sort()).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
  });
});

describe('npm run eval:mnist (scripts/eval-mnist.ts)', () => {
  it('evaluates the served model on a slice of an IDX pair and ends with the accuracy', async () => {
    const r = await run(
      [
        '-r',
        'ts-node/register/transpile-only',
        'scripts/eval-mnist.ts',
        '--images',
        TRAIN_IMAGES,
        '--labels',
        TRAIN_LABELS,
        '--from',
        '55000',
        '--count',
        '1000',
      ],
      { TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json') },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^accuracy: 0\.\d{4}$/);
    expect(Number(lines[lines.length - 1].split(' ')[1])).toBeGreaterThanOrEqual(0.99);
    expect(r.stdout).toContain('[55000, 56000) = 1000 images');
    expect(r.stdout).toMatch(/confusion matrix/);
    expect(r.stdout).toMatch(/\d+ images\/s/);
    // Ten rows of the matrix whose counts add up to the slice.
    const rows = lines.filter((l) => /^\s+\d\s{2}(\s+\d+){10}\s+[\d.]+$/.test(l));
    expect(rows).toHaveLength(10);
    const total = rows
      .flatMap((l) => l.trim().split(/\s+/).slice(1, 11).map(Number))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(1000);
  });

  it('refuses bad arguments and broken files with a message', async () => {
    const bad = await run(['-r', 'ts-node/register/transpile-only', 'scripts/eval-mnist.ts', '--count', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--count must be an integer ≥ 1');
    const swapped = await run([
      '-r',
      'ts-node/register/transpile-only',
      'scripts/eval-mnist.ts',
      '--images',
      TRAIN_LABELS,
      '--labels',
      TRAIN_IMAGES,
    ]);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain('expected images');
  });
});

describe('npm run eval:mnist-styles (scripts/eval-mnist-styles.ts)', () => {
  it('scores the served model on held-out digits in the six real-world styles, one row per model', async () => {
    const r = await run(
      [
        '-r',
        'ts-node/register/transpile-only',
        'scripts/eval-mnist-styles.ts',
        '--count',
        '20',
        'models/mnist-cnn',
      ],
      { TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json') },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '| model | raw | paper | jpeg | offcentre | canvas | alpha | photo | all six styles |',
    );
    const row = r.stdout.split('\n').find((l) => l.startsWith('| models/mnist-cnn |'));
    const cells = row!.split('|').slice(2, -1).map(Number);
    expect(cells).toHaveLength(8);
    // 20 digits a style: each cell a multiple of 5 %, and the served model gets nearly all of them.
    for (const c of cells.slice(0, 7)) expect(c % 5).toBe(0);
    expect(cells[7]).toBeGreaterThanOrEqual(95);
    const refused = await run([
      '-r',
      'ts-node/register/transpile-only',
      'scripts/eval-mnist-styles.ts',
      '--count',
      '0',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--count must be 1 to 5000');
  }, 120_000);
});
