// Proves that transformers.js runs the exported model exactly like the PyTorch reference.
//
// usage: node training/gpt2/check_node_parity.mjs [model_dir]      (default: models/ko-chat-gpt2)
//   Needs @huggingface/transformers (4.3.1 was used) resolvable from this repo or from the current
//   directory, e.g. a scratch project:  cd /tmp/gptcheck && node /work/main/training/gpt2/check_node_parity.mjs /work/main/models/ko-chat-gpt2
//
// Checks, for every prompt in <model_dir>/reference_greedy.json:
//   1. tokenizer: apply_chat_template([{role:'user', content}], {add_generation_prompt:true}) + encode
//      gives exactly prompt_ids (the ids the PyTorch side used);
//   2. model: AutoModelForCausalLM (dtype fp32, onnx/model.onnx, KV cache) greedy generate with
//      max_new_tokens 32, eos </s>, no repetition penalty gives exactly greedy_ids;
//   3. decoding the new ids gives greedy_text;
//   4. batched, left-padded generation of all prompts at once (attention_mask + position_ids with
//      padding) gives the same ids as the single-prompt runs.
// Exit code 0 only if 1-3 hold for every prompt and 4 holds for every row.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTransformers } from './_resolve_transformers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'models', 'ko-chat-gpt2'));
const { AutoTokenizer, AutoModelForCausalLM, Tensor, env } = await loadTransformers();
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(modelDir) + path.sep;
const modelId = path.basename(modelDir);

const ref = JSON.parse(fs.readFileSync(path.join(modelDir, 'reference_greedy.json'), 'utf8'));
const tokenizer = await AutoTokenizer.from_pretrained(modelId, { local_files_only: true });
const model = await AutoModelForCausalLM.from_pretrained(modelId, { dtype: 'fp32', local_files_only: true });

const eos = ref.eos_token_id;
const genOptions = {
  max_new_tokens: ref.max_new_tokens,
  do_sample: false,
  eos_token_id: eos,
  // generation_config.json enables these for serving; the reference is plain greedy
  repetition_penalty: 1.0,
  no_repeat_ngram_size: 0,
};
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const toNumbers = (row) => row.map((x) => Number(x));
// generated ids after the prompt, cut after the first </s> (batched rows are padded after it)
const cut = (ids) => (ids.indexOf(eos) >= 0 ? ids.slice(0, ids.indexOf(eos) + 1) : ids);

let failures = 0;
const singles = [];
for (const r of ref.references) {
  const text = tokenizer.apply_chat_template([{ role: 'user', content: r.prompt }], {
    tokenize: false,
    add_generation_prompt: true,
  });
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const tokOk = same(ids, r.prompt_ids);

  const input_ids = new Tensor('int64', BigInt64Array.from(r.prompt_ids.map(BigInt)), [1, r.prompt_ids.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(r.prompt_ids.length).fill(1n), [1, r.prompt_ids.length]);
  const out = await model.generate({ input_ids, attention_mask, ...genOptions });
  const gen = toNumbers(out.tolist()[0]).slice(r.prompt_ids.length);
  singles.push(gen);
  const genOk = same(gen, r.greedy_ids);
  const decoded = tokenizer.decode(gen, { skip_special_tokens: true });
  const textOk = decoded === r.greedy_text;
  const ok = tokOk && genOk && textOk;
  if (!ok) failures++;
  console.log(`${ok ? 'OK  ' : 'FAIL'} ${JSON.stringify(r.prompt)} -> ${JSON.stringify(decoded)}` +
    (tokOk ? '' : `\n     prompt ids differ: node ${ids} vs python ${r.prompt_ids}`) +
    (genOk ? '' : `\n     generated ids differ:\n       node   ${gen}\n       python ${r.greedy_ids}`) +
    (textOk ? '' : `\n     decoded text differs from python: ${JSON.stringify(r.greedy_text)}`));
}

// batched + left padding: exercises attention_mask / position_ids with padding
tokenizer.padding_side = 'left';
const texts = ref.references.map((r) =>
  tokenizer.apply_chat_template([{ role: 'user', content: r.prompt }], { tokenize: false, add_generation_prompt: true }));
const batch = tokenizer(texts, { padding: true, add_special_tokens: false });
const width = batch.input_ids.dims[1];
const outB = await model.generate({ ...batch, ...genOptions });
let batchSame = 0;
outB.tolist().forEach((row, i) => {
  const gen = cut(toNumbers(row).slice(width));
  if (same(gen, singles[i])) batchSame++;
  else console.log(`BATCH MISMATCH ${JSON.stringify(ref.references[i].prompt)}\n  batch  ${gen}\n  single ${singles[i]}`);
});

const n = ref.references.length;
console.log(`single-prompt greedy parity with PyTorch: ${n - failures}/${n} prompts identical`);
console.log(`batched left-padded generation (batch ${n}, width ${width}): ${batchSame}/${n} rows identical to single runs`);
process.exit(failures === 0 && batchSame === n ? 0 : 1);
