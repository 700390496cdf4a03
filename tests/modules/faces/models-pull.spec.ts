import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/app';
import { SYSTEM_CASCADE } from '../../support/faces-fixtures';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'models-pull.js');
const SHA256 = '6281df13459cc218ff047d02b2ae3859b12ff14a93ffe8952f7b33fad7b9697b';

function pull(modelsDir: string) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [SCRIPT, '--models-dir', modelsDir, '--timeout', '5'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, out: r.stdout + r.stderr, ms: Date.now() - started };
}

describe('npm run models:pull (scripts/models-pull.js)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'models-pull-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const target = () => path.join(dir, 'haarcascade', 'haarcascade_frontalface_alt.xml');

  (existsSync(SYSTEM_CASCADE) ? it : it.skip)('keeps a cascade that is already there and verified', () => {
    mkdirSync(path.dirname(target()));
    copyFileSync(SYSTEM_CASCADE, target());
    const r = pull(dir);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/haar-frontalface-alt: already in/);
  });

  it('downloads and verifies the cascade, or fails within seconds saying what to do instead', () => {
    mkdirSync(path.dirname(target()));
    writeFileSync(target(), 'not the cascade');
    const r = pull(dir);
    expect(r.ms).toBeLessThan(20_000);
    if (r.status === 0) {
      // Online: the pinned file, verified.
      expect(createHash('sha256').update(readFileSync(target())).digest('hex')).toBe(SHA256);
    } else {
      // Offline (as in CI): a clear message, and the existing file is left alone.
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/download failed \(.+\); install it with "apt-get install opencv-data"/);
      expect(readFileSync(target(), 'utf8')).toBe('not the cascade');
    }
  });
});
