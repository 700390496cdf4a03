// Tokenizer parity: Python ids (train_tokenizer.KoBPETokenizer) vs transformers.js AutoTokenizer.
// usage: node check_tokenizer_node.mjs <model_dir> [samples.json ...]
//   samples.json: {"samples": [{"text": "...", "ids": [..]}, ...]}
//   default samples file: tokenizer_parity_samples.json next to this script.
// Exit code 1 on any mismatch.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTransformers } from './_resolve_transformers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [modelDir, ...files] = process.argv.slice(2);
if (!modelDir) {
  console.error('usage: node check_tokenizer_node.mjs <model_dir> [samples.json ...]');
  process.exit(2);
}
const { AutoTokenizer, env } = await loadTransformers();
const abs = path.resolve(modelDir);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(abs) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(abs), { local_files_only: true });

let total = 0, bad = 0, decodeBad = 0;
for (const file of files.length ? files : [path.join(here, 'tokenizer_parity_samples.json')]) {
  const { samples } = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const { text, ids, decoded } of samples) {
    total++;
    const got = text === '' ? [] : tokenizer.encode(text, { add_special_tokens: false });
    if (got.length !== ids.length || got.some((x, i) => x !== ids[i])) {
      bad++;
      if (bad <= 10) console.log('MISMATCH', JSON.stringify(text), '\n  py  ', ids.join(' '), '\n  node', got.join(' '));
    }
    if (decoded !== undefined && ids.length) {
      const dec = tokenizer.decode(ids, { skip_special_tokens: true });
      if (dec !== decoded) {
        decodeBad++;
        if (decodeBad <= 10) console.log('DECODE MISMATCH', JSON.stringify(text), JSON.stringify(dec));
      }
    }
  }
  console.log(`${file}: checked ${samples.length}`);
}
// chat template sanity: must equal "<usr>{q}<sys>"
const prompt = tokenizer.apply_chat_template([{ role: 'user', content: '안녕하세요' }], { tokenize: false, add_generation_prompt: true });
const templateOk = prompt === '<usr>안녕하세요<sys>';
console.log(`chat_template -> ${JSON.stringify(prompt)} ${templateOk ? 'OK' : 'UNEXPECTED'}`);
console.log(`tokenizer parity: ${total - bad}/${total} identical${bad ? ` (${bad} mismatches)` : ''}; decode mismatches: ${decodeBad}`);
process.exit(bad || decodeBad || !templateOk ? 1 : 0);
