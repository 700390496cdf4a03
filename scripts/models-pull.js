#!/usr/bin/env node
// `npm run models:pull`: downloads the model files that are not shipped with the repository, for users
// who are online. Today that is OpenCV's Haar cascade for faces (haarcascade_frontalface_alt.xml), which
// the service otherwise finds in the system's OpenCV data (Debian/Ubuntu: apt-get install opencv-data).
//
//   node scripts/models-pull.js [--force] [--models-dir DIR] [--timeout SECONDS]
//
// Files go to MODELS_DIR (default: models/) under the folder the service looks in, are checked against
// a pinned SHA-256, and are written atomically. Offline, it fails within seconds and says what else to do.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ARTIFACTS = [
  {
    name: 'haar-frontalface-alt',
    // Pinned to the OpenCV 4.6.0 tag: the same file as Debian's opencv-data 4.6.0.
    url: 'https://raw.githubusercontent.com/opencv/opencv/4.6.0/data/haarcascades/haarcascade_frontalface_alt.xml',
    file: path.join('haarcascade', 'haarcascade_frontalface_alt.xml'),
    sha256: '6281df13459cc218ff047d02b2ae3859b12ff14a93ffe8952f7b33fad7b9697b',
    bytes: 676709,
    otherwise:
      'install it with "apt-get install opencv-data" (the service finds /usr/share/opencv4/haarcascades), ' +
      'or download the file yourself and set HAAR_CASCADE_PATH',
  },
];

function parseArgs(argv) {
  const args = { force: false, modelsDir: process.env.MODELS_DIR || 'models', timeout: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') args.force = true;
    else if (a === '--models-dir') args.modelsDir = argv[++i];
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: node scripts/models-pull.js [--force] [--models-dir DIR] [--timeout SECONDS]\n',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  if (!args.modelsDir || !(args.timeout > 0))
    throw new Error('--models-dir needs a folder and --timeout a number');
  return args;
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function log(msg) {
  process.stdout.write(`[models:pull] ${msg}\n`);
}

/** Why a fetch failed, in words (Node's fetch hides the network error in `cause`). */
function reason(err) {
  if (err && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err && err.cause;
  const code = cause && (cause.code || cause.name);
  const text = (cause && cause.message) || (err && err.message) || String(err);
  return code && !text.includes(code) ? `${code}: ${text}` : text;
}

async function pull(artifact, args) {
  const target = path.resolve(args.modelsDir, artifact.file);
  if (!args.force && fs.existsSync(target) && sha256(fs.readFileSync(target)) === artifact.sha256) {
    log(`${artifact.name}: already in ${path.relative(process.cwd(), target)}`);
    return true;
  }
  log(`${artifact.name}: downloading ${artifact.url}`);
  let data;
  try {
    const res = await fetch(artifact.url, {
      signal: AbortSignal.timeout(args.timeout * 1000),
      redirect: 'follow',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    data = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    log(`${artifact.name}: download failed (${reason(err)}); ${artifact.otherwise}.`);
    return false;
  }
  const digest = sha256(data);
  if (digest !== artifact.sha256) {
    log(
      `${artifact.name}: the download is not the expected file (${data.length} bytes, sha256 ${digest}); ` +
        `nothing was written; ${artifact.otherwise}.`,
    );
    return false;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, target);
  log(
    `${artifact.name}: saved ${path.relative(process.cwd(), target)} (${data.length} bytes, sha256 verified)`,
  );
  return true;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    log(err.message);
    process.exit(2);
  }
  let ok = true;
  for (const artifact of ARTIFACTS) ok = (await pull(artifact, args)) && ok;
  process.exit(ok ? 0 : 1);
}

main();
