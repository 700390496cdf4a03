"""PyTorch-eager baseline for bench/generation.ts: the same model, prompts and token counts.

Rebuilds the model of training/gpt2/model.py from an exported folder (config.json + onnx/model.onnx; the
ONNX initialisers are the trained weights), checks that its greedy ids equal reference_greedy.json, then
times greedy decoding with the KV cache: time to first token and decode tokens/s, one stream, and N
streams spread over P processes. Prints one JSON object. Run with /usr/bin/python3 (Debian's PyTorch).
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training", "gpt2"))
from model import GPT, GPTConfig  # noqa: E402


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    gcfg = GPTConfig(vocab_size=cfg["vocab_size"], n_positions=cfg["n_positions"], n_embd=cfg["n_embd"],
                     n_layer=cfg["n_layer"], n_head=cfg["n_head"], dropout=0.0,
                     layer_norm_epsilon=cfg.get("layer_norm_epsilon", 1e-5))
    model = GPT(gcfg).eval()
    graph = onnx.load(os.path.join(model_dir, "onnx", "model.onnx")).graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    state = model.state_dict()
    weights = {}
    for name, t in inits.items():
        key = name[len("model."):] if name.startswith("model.") else name
        if key in state:
            weights[key] = t
    # Linear weights were folded into MatMul nodes; their node names keep the module path.
    for node in graph.node:
        if node.op_type == "MatMul":
            w = next((x for x in node.input if x in inits), None)
            path = node.name.strip("/").split("/")
            if w is None or len(path) < 3 or path[0] != "model":
                continue
            key = ".".join(path[1:-1]) + ".weight"
            if key in state:
                t = inits[w]
                weights[key] = t.T.contiguous() if t.T.shape == state[key].shape else t
    missing = [k for k in state if k not in weights]
    if missing:
        raise SystemExit(f"weights not found in the ONNX graph: {missing[:5]}")
    model.load_state_dict(weights)
    return model, cfg


@torch.no_grad()
def timed_greedy(model, prompt_ids, n):
    start = time.perf_counter()
    logits, past = model(torch.tensor([prompt_ids]))
    nxt = int(torch.argmax(logits[0, -1]))
    first = time.perf_counter()
    out = [nxt]
    while len(out) < n:
        logits, past = model(torch.tensor([[nxt]]), past_key_values=past)
        nxt = int(torch.argmax(logits[0, -1]))
        out.append(nxt)
    end = time.perf_counter()
    # perf_counter is CLOCK_MONOTONIC, comparable across the pool's processes.
    return {"ttft_ms": (first - start) * 1000, "decode_tps": (n - 1) / (end - first), "total_s": end - start,
            "first_at": first}


def worker(args):
    model_dir, prompts, n = args
    torch.set_num_threads(1)
    model, _ = load(model_dir)
    return [timed_greedy(model, p, n) for p in prompts]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--prompts", required=True, help="JSON file: list of prompt id lists")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--processes", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(1)
    prompts = json.load(open(a.prompts))
    model, cfg = load(a.model_dir)

    ref_file = os.path.join(a.model_dir, "reference_greedy.json")
    parity = None
    if os.path.exists(ref_file):
        ref = json.load(open(ref_file))
        parity = all(model.generate_greedy(r["prompt_ids"], ref["max_new_tokens"], ref["eos_token_id"]) == r["greedy_ids"]
                     for r in ref["references"])

    timed_greedy(model, prompts[0], 4)  # warm-up
    single = [timed_greedy(model, p, a.tokens) for p in prompts]

    jobs = [prompts[i % len(prompts)] for i in range(a.streams)]
    chunks = [(a.model_dir, jobs[i::a.processes], a.tokens) for i in range(a.processes)]
    ctx = mp.get_context("fork")
    with ctx.Pool(a.processes) as pool:
        pool.map(worker, [(a.model_dir, [prompts[0]], 2)] * a.processes)  # load + warm each process
        start = time.perf_counter()
        results = [r for chunk in pool.map(worker, chunks) for r in chunk]
        wall = time.perf_counter() - start
    for r in results:  # as the Node side measures it: from the moment all streams were submitted
        r["ttft_ms"] = (r["first_at"] - start) * 1000
    print(json.dumps({
        "parity_with_reference": parity,
        "single": single,
        "concurrent": {"streams": a.streams, "processes": a.processes, "wall_s": wall,
                       "tokens": a.streams * a.tokens, "results": results},
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
