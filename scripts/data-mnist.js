#!/usr/bin/env node
// `npm run data:mnist`: downloads the four files of the original MNIST database (training and test
// images and labels, gzipped IDX) into MNIST_DIR (default data/mnist), for users who are online. Each
// file is checked against its well-known MD5 sum (the ones torchvision and TensorFlow check) and size,
// and written atomically. Files already there and intact are kept. Offline, it fails within seconds and
// says what else to do.
//
//   node scripts/data-mnist.js [--dir DIR] [--from LOCAL_DIR] [--force] [--timeout SECONDS]
//
// --from copies (and checks) the files from a local folder instead of downloading them, e.g.
//   npm run data:mnist -- --from ../shared/datasets/mnist
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// The service needs the training pair; the test pair is for `npm run eval:mnist` on the test split.
const FILES = [
  {
    name: 'train-images-idx3-ubyte.gz',
    md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    bytes: 9912422,
    needed: true,
  },
  { name: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432', bytes: 28881, needed: true },
  {
    name: 't10k-images-idx3-ubyte.gz',
    md5: '9fb629c4189551a2d022fa330f9573f3',
    bytes: 1648877,
    needed: false,
  },
  { name: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c', bytes: 4542, needed: false },
];

// The original site (yann.lecun.com) often refuses downloads; these mirrors serve the same bytes.
// MNIST_MIRRORS (comma-separated base URLs) replaces them, e.g. for an internal mirror.
const MIRRORS = process.env.MNIST_MIRRORS
  ? process.env.MNIST_MIRRORS.split(',').map((m) => (m.trim().endsWith('/') ? m.trim() : `${m.trim()}/`))
  : [
      'https://ossci-datasets.s3.amazonaws.com/mnist/',
      'https://storage.googleapis.com/cvdf-datasets/mnist/',
      'http://yann.lecun.com/exdb/mnist/',
    ];

function usage() {
  return 'usage: node scripts/data-mnist.js [--dir DIR] [--from LOCAL_DIR] [--force] [--timeout SECONDS]\n';
}

function parseArgs(argv) {
  const args = { dir: process.env.MNIST_DIR || 'data/mnist', from: null, force: false, timeout: 8 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dir') args.dir = argv[++i];
    else if (a === '--from') args.from = argv[++i];
    else if (a === '--force') args.force = true;
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(usage());
      process.exit(0);
    } else {
      process.stderr.write(`unknown option ${a}\n${usage()}`);
      process.exit(2);
    }
  }
  if (!args.dir || !(args.timeout > 0)) {
    process.stderr.write(usage());
    process.exit(2);
  }
  return args;
}

function md5File(file) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('md5');
    fs.createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

async function intact(file, spec) {
  try {
    const st = fs.statSync(file);
    return st.size === spec.bytes && (await md5File(file)) === spec.md5;
  } catch {
    return false;
  }
}

/** Why a fetch failed, in a few words. */
function reason(err) {
  const cause = err && err.cause;
  const code = (cause && (cause.code || cause.name)) || (err && (err.code || err.name));
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found (no network or DNS)';
  if (code === 'AbortError' || code === 'TimeoutError') return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return 'network unreachable';
  return (err && err.message) || String(err);
}

/** Downloads url into file (atomically), checking size and MD5; throws with a short reason. */
async function download(url, file, spec, timeoutS) {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), timeoutS * 1000);
  const part = `${file}.${process.pid}.part`;
  try {
    const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const hash = crypto.createHash('md5');
    const out = fs.createWriteStream(part);
    let bytes = 0;
    for await (const chunk of res.body) {
      // A stalled transfer is abandoned; a slow but moving one is not.
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), Math.max(30, timeoutS) * 1000);
      bytes += chunk.length;
      if (bytes > spec.bytes) throw new Error(`more than the expected ${spec.bytes} bytes`);
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
    const md5 = hash.digest('hex');
    if (bytes !== spec.bytes || md5 !== spec.md5) {
      throw new Error(
        `checksum mismatch (got ${bytes} bytes, md5 ${md5}; expected ${spec.bytes}, ${spec.md5})`,
      );
    }
    fs.renameSync(part, file);
  } catch (err) {
    fs.rmSync(part, { force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = path.resolve(args.dir);
  fs.mkdirSync(dir, { recursive: true });
  const failed = [];
  let offline = false;
  for (const spec of FILES) {
    const file = path.join(dir, spec.name);
    if (!args.force && (await intact(file, spec))) {
      console.log(`${spec.name}: already there, checksum OK`);
      continue;
    }
    if (args.from) {
      const src = path.join(path.resolve(args.from), spec.name);
      if (!(await intact(src, spec))) {
        failed.push({ spec, why: `not in ${args.from}, or its checksum differs` });
        continue;
      }
      const part = `${file}.${process.pid}.part`;
      fs.copyFileSync(src, part);
      fs.renameSync(part, file);
      console.log(`${spec.name}: copied from ${args.from}, checksum OK`);
      continue;
    }
    if (offline) {
      failed.push({ spec, why: 'skipped (offline)' });
      continue;
    }
    const reasons = [];
    let done = false;
    for (const mirror of MIRRORS) {
      const url = mirror + spec.name;
      try {
        process.stdout.write(`${spec.name}: downloading ${url} ... `);
        await download(url, file, spec, args.timeout);
        console.log(`OK (${spec.bytes} bytes, md5 ${spec.md5})`);
        done = true;
        break;
      } catch (err) {
        console.log('failed');
        reasons.push(`${new URL(url).host}: ${reason(err)}`);
      }
    }
    if (!done) {
      failed.push({ spec, why: reasons.join('; ') });
      // Every mirror unreachable at the network level: do not wait for the other files too.
      offline = reasons.every((r) => /host not found|no answer|refused|unreachable|fetch failed/.test(r));
    }
  }
  const missing = failed.filter((f) => f.spec.needed);
  for (const f of failed.filter((x) => !x.spec.needed)) {
    console.warn(`warning: ${f.spec.name} (test split, only for eval:mnist): ${f.why}`);
  }
  if (missing.length > 0) {
    console.error(`\nCould not get the MNIST training files into ${dir}:`);
    for (const f of missing) console.error(`  - ${f.spec.name}: ${f.why}`);
    console.error(
      `\n${offline ? 'This machine seems to be offline. ' : ''}Copy the files (names and MD5 sums in ` +
        `scripts/data-mnist.js) into ${dir} yourself, run again with --from <a folder that has them>, or set ` +
        'MNIST_DIR to a folder holding train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz].',
    );
    process.exit(1);
  }
  console.log(`\nMNIST is in ${dir}; the service reads it from MNIST_DIR (default data/mnist).`);
}

main().catch((err) => {
  console.error(`data:mnist failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
