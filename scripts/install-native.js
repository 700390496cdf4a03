#!/usr/bin/env node
// Makes sure faiss-node has a working native binary after `npm install`.
//
// npm 11 blocks faiss-node's own install script here (see allowScripts in package.json), and that
// script could not work offline anyway: it downloads a prebuilt binary or clones FAISS from GitHub.
// So we do it ourselves, in this order, stopping at the first that works:
//   1. an already working binary (kept as is);
//   2. the normal prebuilt binary (prebuild-install), for users who are online;
//   3. compiling faiss-node's single source file against the system FAISS (Debian: libfaiss-dev).
// `--check` only reports whether faiss-node loads, with exit code 1 when it does not.
//
// It also builds the optional native face detector (src/modules/faces/native/cascade_detector.cc) against
// the system OpenCV when its headers are there (Debian: libopencv-objdetect-dev): one small file, a few
// seconds. Without it the service uses OpenCV.js (WebAssembly), slower but with the same boxes.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkgDir = path.join(root, 'node_modules', 'faiss-node');
const outFile = path.join(pkgDir, 'build', 'Release', 'faiss-node.node');

function log(msg) {
  process.stdout.write(`[install-native] ${msg}\n`);
}

function faissWorks() {
  // A child process, so that a binary that crashes on load cannot take this script with it.
  // 64 vectors searched at once make FAISS call BLAS (sgemm): a binary linked without it dies here.
  const probe = `const f=require(${JSON.stringify(pkgDir)});const d=8,n=64,x=[];` +
    `for(let i=0;i<n*d;i++)x.push(Math.sin(i));const ix=new f.IndexFlatL2(d);ix.add(x);` +
    `const r=ix.search(x,1);for(let i=0;i<n;i++)if(r.labels[i]!==i)process.exit(2);`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore', timeout: 30000 }).status === 0;
}

function tryPrebuilt() {
  const bin = path.join(root, 'node_modules', '.bin', 'prebuild-install');
  if (!fs.existsSync(bin)) return false;
  const r = spawnSync(bin, ['--runtime', 'napi'], { cwd: pkgDir, stdio: 'ignore', timeout: 60000 });
  return r.status === 0 && faissWorks();
}

function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(process.execPath, '..', '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function compileAgainstSystemFaiss() {
  const faissHeader = ['/usr/include/faiss/IndexFlat.h', '/usr/local/include/faiss/IndexFlat.h'].find((f) =>
    fs.existsSync(f),
  );
  if (!faissHeader) {
    log('system FAISS headers not found (Debian/Ubuntu: apt-get install libfaiss-dev).');
    return false;
  }
  const nodeInc = nodeIncludeDir();
  if (!nodeInc) {
    log('Node.js headers (node_api.h) not found; install them (Debian: apt-get install libnode-dev).');
    return false;
  }
  const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [pkgDir, root] }));
  let source = fs.readFileSync(path.join(pkgDir, 'src', 'faiss.cc'), 'utf8');
  // FAISS 1.7.3 (Debian 12) declares idx_t inside faiss::Index; 1.7.4+ moved it to namespace faiss.
  const metricType = path.join(path.dirname(faissHeader), 'MetricType.h');
  const namespaceIdx = fs.existsSync(metricType) && /using idx_t\s*=/.test(fs.readFileSync(metricType, 'utf8'));
  if (!namespaceIdx) source = source.replace('using idx_t = faiss::idx_t;', 'using idx_t = faiss::Index::idx_t;');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-node-'));
  const src = path.join(tmp, 'faiss.cc');
  fs.writeFileSync(src, source);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const args = [
    '-O2', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS',
    `-I${nodeInc}`, `-I${addonApi}`, src, '-o', outFile, '-lfaiss', '-llapack', '-lblas',
  ];
  log(`compiling faiss-node against ${path.dirname(path.dirname(faissHeader))} (about a minute)...`);
  try {
    execFileSync(process.env.CXX || 'g++', args, { stdio: 'inherit' });
  } catch {
    log('compilation failed (see the compiler output above).');
    return false;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return faissWorks();
}

const cascadeSource = path.join(root, 'src', 'modules', 'faces', 'native', 'cascade_detector.cc');
const cascadeOut = path.join(root, 'build', 'native', 'cascade_detector.node');

function cascadeWorks() {
  const probe = `const a=require(${JSON.stringify(cascadeOut)});if(typeof a.CascadeDetector!=='function')process.exit(2);`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore', timeout: 30000 }).status === 0;
}

function buildFaceDetector() {
  const include = ['/usr/include/opencv4', '/usr/local/include/opencv4'].find((d) =>
    fs.existsSync(path.join(d, 'opencv2', 'objdetect.hpp')),
  );
  // Rebuilt when the source is newer, so a `git pull` reaches the binary.
  const fresh =
    fs.existsSync(cascadeOut) && fs.statSync(cascadeOut).mtimeMs >= fs.statSync(cascadeSource).mtimeMs;
  if (fresh && cascadeWorks()) {
    log('face detector: native OpenCV binary found.');
    return;
  }
  const nodeInc = nodeIncludeDir();
  if (!include || !nodeInc) {
    log(
      'face detector: OpenCV headers not found, so faces use OpenCV.js (slower). For the native one: ' +
        'apt-get install -y libopencv-objdetect-dev, then node scripts/install-native.js',
    );
    return;
  }
  const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [root] }));
  fs.mkdirSync(path.dirname(cascadeOut), { recursive: true });
  const args = [
    '-O2', '-std=c++17', '-shared', '-fPIC', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS',
    `-I${nodeInc}`, `-I${addonApi}`, `-I${include}`, cascadeSource, '-o', cascadeOut,
    '-lopencv_objdetect', '-lopencv_imgproc', '-lopencv_core',
  ];
  try {
    execFileSync(process.env.CXX || 'g++', args, { stdio: 'inherit' });
  } catch {
    fs.rmSync(cascadeOut, { force: true });
    log('face detector: compiling against the system OpenCV failed (see above); faces use OpenCV.js.');
    return;
  }
  if (cascadeWorks()) log(`face detector: built ${path.relative(root, cascadeOut)} against ${include}.`);
  else {
    fs.rmSync(cascadeOut, { force: true });
    log('face detector: the native build does not load; faces use OpenCV.js.');
  }
}

function main() {
  if (!process.argv.includes('--check')) buildFaceDetector();
  if (!fs.existsSync(pkgDir)) {
    log('faiss-node is not installed; nothing to do.');
    return 0;
  }
  if (faissWorks()) {
    log('faiss-node: working native binary found.');
    return 0;
  }
  if (process.argv.includes('--check')) {
    log('faiss-node does not load. Run `npm rebuild` or `node scripts/install-native.js` after installing libfaiss-dev.');
    return 1;
  }
  if (process.env.FAISS_NODE_SKIP_PREBUILT !== '1' && tryPrebuilt()) {
    log('faiss-node: prebuilt binary installed.');
    return 0;
  }
  if (compileAgainstSystemFaiss()) {
    log(`faiss-node: built ${path.relative(root, outFile)} against the system FAISS.`);
    return 0;
  }
  log(
    [
      '',
      '  faiss-node has no working native binary, so the chat retrieval index cannot start.',
      '  Fix: install FAISS and a C++ compiler, then run `node scripts/install-native.js`:',
      '    Debian/Ubuntu (as root): apt-get install -y libfaiss-dev g++',
      '  Everything else in the service works without it; /models will report the chat index as failed.',
      '',
    ].join('\n'),
  );
  // Not fatal for `npm install`: the rest of the service is usable, and the README's commands check it.
  return 0;
}

process.exit(main());
