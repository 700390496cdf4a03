"""Rebuild a PyTorch checkpoint from a committed ONNX export, to continue training a model whose checkpoint is
gone (train.py keeps checkpoints in /tmp, and a new machine starts without them).

    /usr/bin/python3 training/gpt2/onnx_to_checkpoint.py --model-dir models/ko-chat-gpt2 \
        --out /tmp/ko-chat-gpt2-committed.pt --work-dir /tmp/ko-chat-gpt2-work

It reads config.json and the ONNX initializers: named ones map 1:1 to the state dict; the linear weights are the
unnamed MatMul constants (stored transposed, [in, out]), four per block in forward order (qkv, proj, fc, fc_proj).
Then it checks the rebuilt model against reference_greedy.json (the greedy ids the export was made with) and
copies the tokenizer files into --work-dir, so `train.py --pretrain-init` / `--stage finetune` find them.
"""
import argparse
import json
import os
import shutil
import sys

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, GPTConfig  # noqa: E402

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def rebuild(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        hf = json.load(f)
    cfg = GPTConfig(vocab_size=hf["vocab_size"], n_positions=hf["n_positions"], n_embd=hf["n_embd"],
                    n_layer=hf["n_layer"], n_head=hf["n_head"], dropout=0.0)
    graph = onnx.load(os.path.join(model_dir, "onnx", "model.onnx")).graph
    named, matmuls = {}, []
    for init in graph.initializer:
        arr = torch.from_numpy(numpy_helper.to_array(init).copy())
        if init.name.startswith("model."):
            named[init.name[len("model."):]] = arr
        elif init.name.startswith("onnx::MatMul"):
            matmuls.append(arr)
    model = GPT(cfg)
    state = model.state_dict()
    order = [f"blocks.{i}.{n}.weight" for i in range(cfg.n_layer) for n in ("attn.qkv", "attn.proj", "fc", "fc_proj")]
    if len(matmuls) != len(order):
        raise SystemExit(f"expected {len(order)} MatMul weights in the graph, found {len(matmuls)}")
    for name, w in zip(order, matmuls):
        if tuple(w.t().shape) != tuple(state[name].shape):
            raise SystemExit(f"{name}: graph weight {tuple(w.shape)} does not fit {tuple(state[name].shape)}")
        named[name] = w.t().contiguous()
    missing = set(state) - set(named)
    if missing:
        raise SystemExit(f"not in the graph: {sorted(missing)}")
    model.load_state_dict({k: named[k] for k in state})
    return cfg, model.eval()


def check_greedy(model, model_dir):
    with open(os.path.join(model_dir, "reference_greedy.json"), encoding="utf-8") as f:
        refs = json.load(f)
    for r in refs["references"]:
        got = model.generate_greedy(r["prompt_ids"], refs["max_new_tokens"], refs["eos_token_id"])
        if got != r["greedy_ids"]:
            raise SystemExit(f"rebuilt model differs on {r['prompt']!r}: {got} != {r['greedy_ids']}")
    return len(refs["references"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="models/ko-chat-gpt2")
    ap.add_argument("--out", required=True)
    ap.add_argument("--work-dir", default=None, help="copy the tokenizer files here")
    args = ap.parse_args()
    cfg, model = rebuild(args.model_dir)
    n = check_greedy(model, args.model_dir)
    torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(),
                "info": {"rebuilt_from": os.path.join(args.model_dir, "onnx", "model.onnx")}}, args.out)
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        for fn in TOKENIZER_FILES:
            shutil.copyfile(os.path.join(args.model_dir, fn), os.path.join(args.work_dir, fn))
    print(f"[onnx-to-checkpoint] {args.out}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"greedy ids equal on {n} reference prompts")


if __name__ == "__main__":
    main()
