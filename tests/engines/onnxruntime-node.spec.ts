import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

/** onnxruntime-node runs, on CPU, an ONNX model that this test makes with PyTorch. */
describe('onnxruntime-node', () => {
  let dir: string;
  let modelPath: string;
  let expected: { input: number[]; output: number[] };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ort-'));
    modelPath = path.join(dir, 'tiny.onnx');
    const script = `
import json, sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
x = torch.tensor([[0.5, -1.0, 2.0, 0.25]])
torch.onnx.export(m, x, sys.argv[1], input_names=['x'], output_names=['y'], dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}}, opset_version=14)
print(json.dumps({'input': x[0].tolist(), 'output': m(x)[0].tolist()}))
`;
    const out = execFileSync('/usr/bin/python3', ['-c', script, modelPath], { encoding: 'utf8' });
    expected = JSON.parse(out.trim().split('\n').pop()!);
  }, 120000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the model on the CPU provider and matches PyTorch', async () => {
    const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
    expect(session.inputNames).toEqual(['x']);
    const x = new ort.Tensor('float32', Float32Array.from(expected.input), [1, 4]);
    const { y } = await session.run({ x });
    expect(y.dims).toEqual([1, 3]);
    Array.from(y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected.output[i], 5));
    await session.release();
  });

  it('runs a batch in one call', async () => {
    const session = await ort.InferenceSession.create(modelPath);
    const x = new ort.Tensor('float32', new Float32Array(5 * 4).fill(0.1), [5, 4]);
    const { y } = await session.run({ x });
    expect(y.dims).toEqual([5, 3]);
    await session.release();
  });
});
