/**
 * Worker thread that owns the sentence encoder (transformers.js feature extraction on onnxruntime-node), so
 * that tokenising, the ONNX run and pooling never hold the event loop that serves every client. One task at a
 * time; a task is a batch of texts, answered with their vectors in one transferred buffer.
 */
import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { move, workerData } from 'piscina';

export interface EncoderWorkerInit {
  modelsDir: string;
  model: string;
}

export type EncoderTask = { kind: 'load' } | { kind: 'encode'; texts: string[] } | { kind: 'release' };

const init = workerData as EncoderWorkerInit;
let loaded: Promise<FeatureExtractionPipeline> | undefined;

async function load(): Promise<FeatureExtractionPipeline> {
  const { pipeline, env } = await import('@huggingface/transformers');
  // Local files only: nothing is ever fetched from a hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = init.modelsDir;
  env.useBrowserCache = false;
  env.useFSCache = false;
  return (await pipeline('feature-extraction', init.model, {
    local_files_only: true,
    dtype: 'fp32',
    device: 'cpu',
    // This thread is the parallelism: onnxruntime's own pool would compete with the event loop for the cores.
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  })) as FeatureExtractionPipeline;
}

async function encode(pipe: FeatureExtractionPipeline, texts: string[]): Promise<Float32Array> {
  const tensor = await pipe(texts, { pooling: 'mean', normalize: true });
  // A copy of its own, so that the buffer can be moved to the caller rather than cloned.
  return Float32Array.from(tensor.data as Float32Array);
}

export default async function run(task: EncoderTask): Promise<unknown> {
  if (task.kind === 'release') {
    // The ONNX session is released here, on its own thread, before the pool terminates the thread.
    const pipe = await loaded?.catch(() => undefined);
    loaded = undefined;
    await pipe?.dispose();
    return null;
  }
  const pipe = await (loaded ??= load());
  if (task.kind === 'load') {
    const probe = await encode(pipe, ['안녕하세요']);
    return { dim: probe.length };
  }
  return move(await encode(pipe, task.texts));
}
