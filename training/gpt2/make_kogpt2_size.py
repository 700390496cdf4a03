#!/usr/bin/python3
"""A random-weight GPT-2 with skt/kogpt2-base-v2's published shape (12 layers, 12 heads, width 768, 1024
positions, vocabulary 51,200), with a 51,200-token tokenizer of our own (sentencepiece BPE on NSMC reviews,
KoGPT2's special tokens at ids 0-6) in the same tokenizer.json format, exported by our exporter in the
optimum decoder-with-past layout. For bench/kogpt2-size.ts: what a real KoGPT2 costs to serve here.

    /usr/bin/python3 training/gpt2/make_kogpt2_size.py --out /tmp/kogpt2-size/kogpt2-size
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_onnx  # noqa: E402
import pretrain_data  # noqa: E402
import train_tokenizer as tt  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-size", type=int, default=51200)
    ap.add_argument("--lines", type=int, default=100000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    texts, _ = pretrain_data.load_pretrain_texts(nsmc_lines=args.lines, verbose=False)
    tok = tt.train_tokenizer(texts, args.out, args.vocab_size, model_max_length=1024)
    t_tok = time.time() - t0
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=len(tok), n_positions=1024, n_embd=768, n_layer=12, n_head=12, dropout=0.0)
    model = GPT(cfg).eval()
    export_onnx.write_configs(cfg, args.out, {t: i for i, t in enumerate(tt.SPECIAL_TOKENS)})
    export_onnx.export_onnx(model, args.out)
    print(json.dumps({"vocab_size": len(tok), "parameters": model.num_parameters(), "tokenizer_s": round(t_tok, 1),
                      "total_s": round(time.time() - t0, 1),
                      "onnx_mb": round(os.path.getsize(os.path.join(args.out, "onnx", "model.onnx")) / 1e6, 1)}))


if __name__ == "__main__":
    main()
