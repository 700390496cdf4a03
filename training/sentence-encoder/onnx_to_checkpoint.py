"""Rebuild the encoder's PyTorch weights from a committed ONNX export, to train it further on a machine that no
longer has train_encoder.py's work folder (it lives in /tmp).

    /usr/bin/python3 training/sentence-encoder/onnx_to_checkpoint.py --model-dir models/ko-sentence-encoder \
        --work-dir /tmp/ko-sentence-encoder-work
    /usr/bin/python3 training/sentence-encoder/train_encoder.py --stage contrastive --cl-minutes 40 --cl-lr 5e-4

It writes `vocab.json` and `after-mlm.pt` into --work-dir, which `--stage contrastive` starts from. The
named ONNX initializers map 1:1 to TinyBert's state dict; the linear weights are the unnamed MatMul constants
(stored transposed), six per layer in forward order (query, key, value, out, intermediate, output). The rebuilt
model must reproduce reference_embeddings.json (max |difference| <= 1e-5) or nothing is written.
"""
import argparse
import json
import os
import sys

import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_tiny_bert import TinyBert  # noqa: E402

LINEARS = ("attention.query", "attention.key", "attention.value", "attention.out", "intermediate", "output")


def rebuild(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    model = TinyBert(c["vocab_size"], c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                     c["intermediate_size"], c["max_position_embeddings"], c.get("type_vocab_size", 2))
    graph = onnx.load(os.path.join(model_dir, "onnx", "model.onnx")).graph
    named, matmuls = {}, []
    for init in graph.initializer:
        arr = torch.from_numpy(numpy_helper.to_array(init).copy())
        (matmuls.append(arr) if init.name.startswith("onnx::MatMul") else named.__setitem__(init.name, arr))
    state = model.state_dict()
    order = [f"layers.{i}.{n}.weight" for i in range(c["num_hidden_layers"]) for n in LINEARS]
    if len(matmuls) != len(order):
        raise SystemExit(f"expected {len(order)} MatMul weights, found {len(matmuls)}")
    for name, w in zip(order, matmuls):
        if tuple(w.t().shape) != tuple(state[name].shape):
            raise SystemExit(f"{name}: {tuple(w.shape)} does not fit {tuple(state[name].shape)}")
        named[name] = w.t().contiguous()
    missing = [k for k in state if k not in named]
    if missing:
        raise SystemExit(f"not in the graph: {missing}")
    model.load_state_dict({k: named[k] for k in state})
    return model.eval(), c


@torch.no_grad()
def check(model, model_dir):
    with open(os.path.join(model_dir, "reference_embeddings.json"), encoding="utf-8") as f:
        refs = json.load(f)["references"]
    worst = 0.0
    for r in refs:
        ids = torch.tensor([r["ids"]])
        h = model(ids, torch.ones_like(ids), torch.zeros_like(ids))[0].mean(dim=0)
        v = h / h.norm()
        worst = max(worst, float((v - torch.tensor(r["embedding"])).abs().max()))
    if worst > 1e-5:
        raise SystemExit(f"the rebuilt encoder differs from reference_embeddings.json by {worst:.2e}")
    return len(refs), worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="models/ko-sentence-encoder")
    ap.add_argument("--work-dir", default="/tmp/ko-sentence-encoder-work")
    args = ap.parse_args()
    model, config = rebuild(args.model_dir)
    n, worst = check(model, args.model_dir)
    with open(os.path.join(args.model_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    scores = {}
    if os.path.exists(os.path.join(args.model_dir, "scores.json")):
        with open(os.path.join(args.model_dir, "scores.json"), encoding="utf-8") as f:
            scores = json.load(f)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(os.path.join(args.work_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    info = {"steps": 0, "seconds": 0, "rebuilt_from": os.path.join(args.model_dir, "onnx", "model.onnx"),
            "rebuilt_scores": scores}
    torch.save({"model": model.state_dict(), "info": info}, os.path.join(args.work_dir, "after-mlm.pt"))
    print(f"[onnx-to-checkpoint] {args.work_dir}: vocab {len(vocab)}, {config['num_hidden_layers']} layers; "
          f"{n} reference embeddings reproduced (max |diff| {worst:.1e})")


if __name__ == "__main__":
    main()
