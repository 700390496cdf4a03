/**
 * `npm run eval:mnist -- --images <idx> --labels <idx> [--from N] [--count N] [--model DIR] [--batch N]`
 *
 * Runs the served digit classifier (the same MnistClassifier and normalisation as the HTTP route; raw IDX
 * images get no other preprocessing) over any IDX pair, gzipped or not, and prints the accuracy, the
 * confusion matrix, per-digit recall and the inference rate. The last line is `accuracy: 0.xxxx`.
 * Defaults: the training files in MNIST_DIR (data/mnist), the model in MODELS_DIR/MNIST_MODEL.
 *
 *   npm run eval:mnist -- --from 55000 --count 5000      # the 5,000 images held out in training
 */
import * as path from 'node:path';
import { findMnistFile, loadMnistPair } from '../src/modules/mnist/idx';
import { MnistClassifier, toFloat } from '../src/modules/mnist/mnist-classifier';

interface Args {
  images?: string;
  labels?: string;
  from: number;
  count?: number;
  model: string;
  batch: number;
  threads: number;
}

function fail(message: string): never {
  process.stderr.write(`eval:mnist: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    from: 0,
    model: path.join(process.env.MODELS_DIR || 'models', process.env.MNIST_MODEL || 'mnist-cnn'),
    batch: 256,
    threads: Number(process.env.MNIST_THREADS || 1),
  };
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`${name} must be an integer ≥ ${min} (got ${v}).`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] ?? fail(`${a} needs a value.`);
    if (a === '--images') args.images = next();
    else if (a === '--labels') args.labels = next();
    else if (a === '--from') args.from = int('--from', next(), 0);
    else if (a === '--count') args.count = int('--count', next(), 1);
    else if (a === '--model') args.model = next();
    else if (a === '--batch') args.batch = int('--batch', next(), 1);
    else if (a === '--threads') args.threads = int('--threads', next(), 1);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: npm run eval:mnist -- [--images IDX] [--labels IDX] [--from N] [--count N] [--model DIR] [--batch N] [--threads N]\n',
      );
      process.exit(0);
    } else fail(`unknown option ${a}.`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = process.env.MNIST_DIR || 'data/mnist';
  const images = args.images ?? findMnistFile(dir, 'train', 'images');
  const labels = args.labels ?? findMnistFile(dir, 'train', 'labels');
  if (!images || !labels)
    fail(`no MNIST files in ${dir}; pass --images and --labels, or run npm run data:mnist.`);

  const set = await loadMnistPair(images, labels);
  const from = args.from;
  if (from >= set.count) fail(`--from ${from} is past the last image (${set.count - 1}).`);
  const count = Math.min(args.count ?? set.count - from, set.count - from);
  const clf = await MnistClassifier.load(path.resolve(args.model), args.threads);
  if (clf.rows !== set.rows || clf.cols !== set.cols) {
    fail(`the model expects ${clf.rows}×${clf.cols} images, the file has ${set.rows}×${set.cols}.`);
  }

  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let correct = 0;
  let seconds = 0;
  for (let start = from; start < from + count; start += args.batch) {
    const end = Math.min(from + count, start + args.batch);
    const batch: Float32Array[] = [];
    for (let i = start; i < end; i++) batch.push(toFloat(set.image(i)));
    const t = performance.now();
    const preds = await clf.classify(batch);
    seconds += (performance.now() - t) / 1000;
    preds.forEach((p, k) => {
      const truth = set.label(start + k);
      confusion[truth][p.digit]++;
      if (p.digit === truth) correct++;
    });
  }
  await clf.release();

  const pad = (v: string | number, n = 6) => String(v).padStart(n);
  console.log(`model:   ${path.resolve(args.model)}`);
  console.log(`images:  ${images} [${from}, ${from + count}) = ${count} images`);
  console.log(`labels:  ${labels}`);
  console.log(`\nconfusion matrix (rows: true digit, columns: predicted)`);
  console.log(`      ${confusion.map((_, d) => pad(d)).join('')}  recall`);
  confusion.forEach((row, d) => {
    const total = row.reduce((a, b) => a + b, 0);
    const recall = total > 0 ? (row[d] / total).toFixed(4) : '  -   ';
    console.log(`${pad(d, 4)}  ${row.map((v) => pad(v)).join('')}  ${recall}`);
  });
  console.log(
    `\n${correct}/${count} correct; ${Math.round(count / seconds)} images/s ` +
      `(inference with normalisation, batch ${args.batch}, ${args.threads} thread(s))`,
  );
  console.log(`accuracy: ${(correct / count).toFixed(4)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:mnist failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
