import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sampleFileName, splitExt } from '../../../src/modules/mnist/output-files';
import { FsOutputStore } from '../../../src/modules/outputs/fs-output-store';
import { displayPath, isSafeFileName, resolveOutput } from '../../../src/modules/outputs/output-names';
import { addGaussianNoise, gaussian, mulberry32 } from '../../../src/modules/mnist/noise';
import { AppConfig } from '../../../src/config/app.config';

/** Writes through the OUTPUT_DIR store, as the sample route does. */
const writeOutput = (dir: string, name: string, data: Buffer) =>
  new FsOutputStore({ OUTPUT_DIR: dir } as AppConfig, {
    OUTPUT_MAX_AGE_S: 0,
    OUTPUT_MAX_BYTES: 0,
    OUTPUT_SWEEP_INTERVAL_S: 0,
  }).write(name, data);

describe('sample file names', () => {
  it('keeps the original naming <base>_label<digit>[_noise]<ext>', () => {
    expect(sampleFileName('mnist_sample.png', 3, false)).toBe('mnist_sample_label3.png');
    expect(sampleFileName('mnist_sample.png', 3, true)).toBe('mnist_sample_label3_noise.png');
    expect(sampleFileName('digit-7.v2.png', 7, false)).toBe('digit-7.v2_label7.png');
  });

  it('splits extensions like os.path.splitext', () => {
    expect(splitExt('a.png')).toEqual(['a', '.png']);
    expect(splitExt('a.b.png')).toEqual(['a.b', '.png']);
    expect(splitExt('.png')).toEqual(['.png', '']);
    expect(splitExt('noext')).toEqual(['noext', '']);
  });

  it('never leaves the folder: directories, absolute paths, .. and NUL bytes are dropped', () => {
    const cases: Record<string, string> = {
      '../../etc/x.png': 'x_label1.png',
      '/etc/passwd': 'passwd_label1.png',
      '..\\..\\windows\\win.ini': 'win_label1.png',
      '..': 'mnist_sample_label1.png',
      '../': 'mnist_sample_label1.png',
      '': 'mnist_sample_label1.png',
      'evil\u0000.png': 'evil_label1.png',
      'a\u0000/../../b.png': 'b_label1.png',
      '.hidden.png': 'hidden_label1.png',
      '-rf.png': 'rf_label1.png',
      'a..b.png': 'a.b_label1.png',
      '숫자 샘플!.png': '__label1.png',
      'x.exe': 'x_label1.png',
      'photo.JPG': 'photo_label1.png',
      '<script>.png': '_script__label1.png',
    };
    for (const [input, expected] of Object.entries(cases)) {
      const name = sampleFileName(input, 1, false);
      expect({ input, name }).toEqual({ input, name: expected });
      expect(isSafeFileName(name)).toBe(true);
      expect(resolveOutput('/srv/out', name)).toBe(path.join('/srv/out', name));
    }
    expect(sampleFileName('a'.repeat(300) + '.png', 0, false)).toBe('a'.repeat(100) + '_label0.png');
  });

  it('resolves only safe one-segment names inside the folder', () => {
    for (const bad of [
      '../x.png',
      '..',
      '.',
      '.env',
      'a/b.png',
      'a\\b.png',
      '/etc/passwd',
      'x\u0000.png',
      '',
      'a..png',
    ]) {
      expect({ bad, safe: resolveOutput('/srv/out', bad) }).toEqual({ bad, safe: null });
    }
    expect(resolveOutput('/srv/out', 'mosaic_1.jpg')).toBe('/srv/out/mosaic_1.jpg');
  });

  it('writes atomically, creating the folder, and reports paths like the original', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mnist-out-'));
    try {
      const file = await writeOutput(path.join(dir, 'deep', 'out'), 'a_label1.png', Buffer.from('png'));
      expect(readFileSync(file, 'utf8')).toBe('png');
      expect(readdirSync(path.join(dir, 'deep', 'out'))).toEqual(['a_label1.png']); // no temporary left
      await expect(writeOutput(dir, '../x.png', Buffer.from('x'))).rejects.toThrow(/unsafe/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(displayPath(path.join(process.cwd(), 'data', 'output', 'x.png'))).toBe('data/output/x.png');
    expect(displayPath('/elsewhere/x.png')).toBe('/elsewhere/x.png');
  });
});

describe('seeded Gaussian noise', () => {
  it('is reproducible with a seed and differs between seeds', () => {
    const img = new Uint8Array(784).fill(128);
    expect(Buffer.from(addGaussianNoise(img, 42))).toEqual(Buffer.from(addGaussianNoise(img, 42)));
    expect(Buffer.from(addGaussianNoise(img, 42))).not.toEqual(Buffer.from(addGaussianNoise(img, 43)));
  });

  it('has σ = 15 and mean 0 (Box-Muller over mulberry32), clipped to 0..255', () => {
    const normal = gaussian(mulberry32(7));
    const xs = Array.from({ length: 100_000 }, normal);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);

    const flat = addGaussianNoise(new Uint8Array(50_000).fill(128), 1);
    const m = flat.reduce((a, b) => a + b, 0) / flat.length;
    const s = Math.sqrt(flat.reduce((a, b) => a + (b - m) ** 2, 0) / flat.length);
    expect(Math.abs(m - 127.5)).toBeLessThan(0.5); // truncation toward zero, like astype(uint8)
    expect(Math.abs(s - 15)).toBeLessThan(0.3);
    const black = addGaussianNoise(new Uint8Array(10_000), 1);
    expect(Math.min(...black)).toBe(0);
    expect(black.filter((v) => v === 0).length).toBeGreaterThan(4500); // half the noise is clipped away
    const white = addGaussianNoise(new Uint8Array(10_000).fill(255), 1);
    expect(Math.max(...white)).toBe(255);
  });
});
