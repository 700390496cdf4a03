#!/usr/bin/python3
"""ONNX export in Hugging Face optimum's decoder-with-past layout (what transformers.js expects for
`model_type: "gpt2"`), plus config.json / generation_config.json.

One graph, onnx/model.onnx, serves the first step (past_sequence_length = 0) and later steps:
  inputs   input_ids                    int64   [batch_size, sequence_length]
           attention_mask               int64   [batch_size, past_sequence_length + sequence_length]
           position_ids                 int64   [batch_size, sequence_length]
           past_key_values.{i}.key      float32 [batch_size, n_head, past_sequence_length, head_dim]
           past_key_values.{i}.value    float32 [batch_size, n_head, past_sequence_length, head_dim]
  outputs  logits                       float32 [batch_size, sequence_length, vocab_size]
           present.{i}.key / .value     float32 [batch_size, n_head, past_sequence_length + sequence_length, head_dim]
n_head / head_dim / vocab_size are fixed numbers; transformers.js builds the empty first-step cache
from the input metadata (symbolic dims other than "batch_size" become 0).

Standalone use:  /usr/bin/python3 training/gpt2/export_onnx.py --checkpoint CKPT --out-dir DIR
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, GPTConfig, set_fast_linear  # noqa: E402

OPSET = 14


class _DecoderWithPast(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        n = self.model.cfg.n_layer
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(n)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def io_names(n_layer):
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    for i in range(n_layer):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def export_onnx(model, out_dir):
    cfg = model.cfg
    set_fast_linear(False)
    model.eval()
    head_dim = cfg.n_embd // cfg.n_head
    b, s, p = 2, 3, 4
    input_ids = torch.randint(7, cfg.vocab_size, (b, s))
    attention_mask = torch.ones(b, p + s, dtype=torch.long)
    attention_mask[1, 0] = 0
    position_ids = torch.arange(p, p + s).unsqueeze(0).expand(b, s).contiguous()
    past = []
    for _ in range(cfg.n_layer):
        past += [torch.randn(b, cfg.n_head, p, head_dim), torch.randn(b, cfg.n_head, p, head_dim)]
    inputs, outputs = io_names(cfg.n_layer)
    dyn = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(cfg.n_layer):
        for kv in ("key", "value"):
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    onnx_dir = os.path.join(out_dir, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    path = os.path.join(onnx_dir, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            _DecoderWithPast(model), (input_ids, attention_mask, position_ids, *past), path,
            input_names=inputs, output_names=outputs, dynamic_axes=dyn, opset_version=OPSET,
            do_constant_folding=True)
    _check_and_dedupe(path, cfg)
    return path


def _check_and_dedupe(path, cfg):
    """Sanity-checks the graph. Constant folding stores the tied LM head a second time, transposed
    (vocab_size x n_embd floats); replace that copy by a Transpose of the embedding so the file holds
    the matrix once (ONNX Runtime folds the Transpose again in memory at load time)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(path)
    big = [i for i in m.graph.initializer if cfg.vocab_size in tuple(i.dims)]
    wte = [i for i in big if tuple(i.dims) == (cfg.vocab_size, cfg.n_embd)]
    dup = [i for i in big if tuple(i.dims) == (cfg.n_embd, cfg.vocab_size)]
    if len(wte) != 1 or len(big) != len(wte) + len(dup):
        raise RuntimeError(f"unexpected embedding initializers: {[(i.name, tuple(i.dims)) for i in big]}")
    for d in dup:
        if not np.array_equal(numpy_helper.to_array(d), numpy_helper.to_array(wte[0]).T):
            raise RuntimeError(f"{d.name} is not the transposed token embedding")
        m.graph.initializer.remove(d)
        node = helper.make_node("Transpose", [wte[0].name], [d.name], name="tied_lm_head_transpose", perm=[1, 0])
        m.graph.node.insert(0, node)
    onnx.checker.check_model(m)
    for vi in m.graph.input:
        if vi.name.startswith("past_key_values"):
            dims = [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]
            assert dims[0] == "batch_size" and dims[1] == cfg.n_head and dims[3] == cfg.n_embd // cfg.n_head, dims
    onnx.save(m, path)


def hf_config(cfg, special_ids):
    return {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": cfg.vocab_size,
        "n_positions": cfg.n_positions,
        "n_ctx": cfg.n_positions,
        "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer,
        "n_head": cfg.n_head,
        "n_inner": 4 * cfg.n_embd,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "resid_pdrop": cfg.dropout,
        "embd_pdrop": cfg.dropout,
        "attn_pdrop": cfg.dropout,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "bos_token_id": special_ids["<s>"],
        "eos_token_id": special_ids["</s>"],
        "pad_token_id": special_ids["<pad>"],
        "use_cache": True,
        "torch_dtype": "float32",
    }


def generation_config(cfg, special_ids):
    return {
        "bos_token_id": special_ids["<s>"],
        "eos_token_id": special_ids["</s>"],
        "pad_token_id": special_ids["<pad>"],
        "decoder_start_token_id": None,
        "max_length": cfg.n_positions,
        "max_new_tokens": 32,
        "do_sample": False,
        "repetition_penalty": 1.2,
        "no_repeat_ngram_size": 3,
        "temperature": 0.8,
        "top_k": 40,
        "top_p": 0.95,
    }


def write_configs(cfg, out_dir, special_ids):
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_config(cfg, special_ids), f, indent=2)
    gc = {k: v for k, v in generation_config(cfg, special_ids).items() if v is not None}
    with open(os.path.join(out_dir, "generation_config.json"), "w", encoding="utf-8") as f:
        json.dump(gc, f, indent=2)


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    model = GPT(GPTConfig(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint)
    from train_tokenizer import SPECIAL_TOKENS
    write_configs(model.cfg, args.out_dir, {t: i for i, t in enumerate(SPECIAL_TOKENS)})
    print(export_onnx(model, args.out_dir))


if __name__ == "__main__":
    main()
