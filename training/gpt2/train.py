#!/usr/bin/python3
"""Trains the small Korean chat GPT-2 end to end and writes a transformers.js-loadable model dir.

  tokenizer (train_tokenizer.py) -> training (model.py) -> ONNX export (export_onnx.py)
  -> config.json, generation_config.json, tokenizer files, reference_greedy.json, MODEL_CARD.md

Data format (KoGPT2-chatbot style):  <usr>{question}<sys>{answer}</s>
Loss only on the answer tokens and </s>. Validation: 5 % of the questions (fixed seed).

Full run (from the repo root; ~20 min on one CPU thread, capped at --time-budget-min):
    /usr/bin/python3 training/gpt2/train.py
Smoke run (~10 s):
    /usr/bin/python3 training/gpt2/train.py --limit 300 --max-steps 20 --out-dir /tmp/gpt-smoke
Node parity (transformers.js must reproduce reference_greedy.json exactly):
    node training/gpt2/check_node_parity.mjs models/ko-chat-gpt2
"""
import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as data_mod  # noqa: E402
import export_onnx  # noqa: E402
import pretrain_data  # noqa: E402
import train_tokenizer as tt  # noqa: E402
from model import GPT, GPTConfig, set_fast_linear  # noqa: E402

DEFAULT_OUT = os.path.join(data_mod.REPO_ROOT, "models", "ko-chat-gpt2")

# Reference prompts for reference_greedy.json: greetings + sentences written for this file.
REFERENCE_PROMPTS = [
    "안녕하세요",
    "안녕",
    "반가워요",
    "너는 누구야?",
    "오늘 하루 너무 피곤했어",
    "주말에 비 온다는데 뭐 하지",
    "새로 산 운동화가 발에 안 맞아",
    "회사 동료랑 점심 먹으러 가",
    "요즘 코딩 공부하는 게 재밌어",
    "고양이를 키우고 싶은데 어떨까",
]
# Extra prompts (outside the training data) for the sample replies in MODEL_CARD.md.
SAMPLE_PROMPTS = [
    "오늘 하루 너무 피곤했어",
    "주말에 비 온다는데 뭐 하지",
    "새로 산 운동화가 발에 안 맞아",
    "회사 동료랑 점심 먹으러 가",
    "요즘 코딩 공부하는 게 재밌어",
    "고양이를 키우고 싶은데 어떨까",
    "시험 끝나서 기분 최고야",
    "친구가 내 생일을 잊어버렸어",
    "기차 여행 가고 싶다",
    "밤에 라면 먹어도 될까",
]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--corpus", nargs="+", default=None,
                    help=f"csv/jsonl files (default: {' '.join(data_mod.DEFAULT_CORPORA)})")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-budget-min", type=float, default=14.0,
                    help="stop training (after an evaluation) once this many minutes have passed")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--patience", type=int, default=3, help="evaluations without improvement before stopping")
    ap.add_argument("--evals-per-epoch", type=int, default=2)
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--own-repeat", type=int, default=3,
                    help="repeat pairs from our own .jsonl corpora N times in the training split")
    ap.add_argument("--vocab-size", type=int, default=6000)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-positions", type=int, default=128)
    ap.add_argument("--linear", choices=["onednn", "torch"], default="torch",
                    help="GEMM backend for training (see model.set_fast_linear)")
    ap.add_argument("--stage", choices=["all", "pretrain", "finetune"], default="all",
                    help="pretrain: tokenizer + language-model pre-training on NSMC/3i4k into --work-dir; "
                         "finetune: chat fine-tuning from --work-dir, export; all: both")
    ap.add_argument("--work-dir", default=None,
                    help="tokenizer and pre-training checkpoint (default: /tmp/<out-dir name>-work)")
    ap.add_argument("--pretrain-minutes", type=float, default=22.0, help="0: no pre-training steps (test fixtures)")
    ap.add_argument("--pretrain-lines", type=int, default=200000, help="NSMC lines sampled for pre-training")
    ap.add_argument("--pretrain-lr", type=float, default=1e-3)
    ap.add_argument("--pretrain-batch-size", type=int, default=32)
    ap.add_argument("--resume", action="store_true", help="continue an interrupted pre-training from --work-dir")
    ap.add_argument("--pretrain-init", default=None,
                    help="pretrain stage: start from this checkpoint's weights and keep the tokenizer already in "
                         "--work-dir (e.g. onnx_to_checkpoint.py's rebuild of the committed model), to train further")
    ap.add_argument("--pretrain-seed", type=int, default=None,
                    help="seed of the NSMC line sample (default --seed); another seed draws other lines")
    ap.add_argument("--select", choices=["best", "last"], default="best",
                    help="finetune: keep the checkpoint with the best validation loss, or the last one (then the "
                         "validation split only reports and chooses nothing)")
    ap.add_argument("--init", default=None,
                    help="finetune stage: start from this checkpoint (e.g. a previous fine-tuning's --checkpoint) "
                         "instead of the pre-trained model, to fine-tune further")
    ap.add_argument("--checkpoint", default=None,
                    help="where to save the PyTorch checkpoint (default: /tmp/<out-dir name>-checkpoint.pt; "
                         "kept out of the model dir to respect its size budget)")
    ap.add_argument("--fixture", default=None,
                    help="write the tokenizer parity fixture here (default: training/gpt2/"
                         "tokenizer_parity_samples.json when --out-dir is the default)")
    return ap.parse_args()


def encode_pair(tok, q, a):
    prompt = tok.encode_prompt(q)
    answer = tok.encode(a) + [tok.eos_token_id]
    return prompt + answer, len(prompt)


def make_examples(tok, pairs, n_positions):
    out, skipped = [], 0
    for p in pairs:
        ids, n_prompt = encode_pair(tok, p["q"], p["a"])
        if len(ids) > n_positions:
            skipped += 1
            continue
        out.append((ids, n_prompt))
    return out, skipped


def batches(examples, batch_size, rng, pad_id):
    """Length-bucketed batches: shuffle, sort chunks of 50 batches by length, shuffle batch order."""
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    groups = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c:c + chunk], key=lambda i: len(examples[i][0]))
        groups += [part[j:j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(groups)
    for g in groups:
        yield collate([examples[i] for i in g], pad_id)


def collate(exs, pad_id):
    t = max(len(ids) for ids, _ in exs) - 1
    inp = torch.full((len(exs), t), pad_id, dtype=torch.long)
    tgt = torch.full((len(exs), t), -100, dtype=torch.long)
    mask = torch.zeros((len(exs), t), dtype=torch.long)
    for r, (ids, n_prompt) in enumerate(exs):
        n = len(ids) - 1
        inp[r, :n] = torch.tensor(ids[:-1])
        mask[r, :n] = 1
        # position k predicts ids[k+1]; answer tokens start at index n_prompt
        tgt[r, n_prompt - 1:n] = torch.tensor(ids[n_prompt:])
    return inp, mask, tgt


@torch.no_grad()
def evaluate(model, examples, pad_id, batch_size=64):
    model.eval()
    tot, n = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    for j in range(0, len(order), batch_size):
        inp, mask, tgt = collate([examples[i] for i in order[j:j + batch_size]], pad_id)
        logits, _ = model(inp, mask)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), ignore_index=-100,
                               reduction="sum")
        tot += float(loss)
        n += int((tgt != -100).sum())
    model.train()
    return tot / max(n, 1)


def pack_texts(tok, texts, n_positions):
    """Pre-training sequences: every text + </s>, concatenated and cut into n_positions-token rows."""
    stream = []
    for t in texts:
        stream.extend(tok.encode(t))
        stream.append(tok.eos_token_id)
    n = len(stream) // n_positions
    return torch.tensor(stream[:n * n_positions], dtype=torch.long).view(n, n_positions)


def pretrain(model, tok, texts, args, work_dir):
    """Language-model pre-training on packed text, cosine LR over a time budget, checkpoint every ~2 min."""
    rows = pack_texts(tok, texts, args.n_positions)
    n_val = min(200, max(1, len(rows) // 50))
    val, rows = rows[:n_val], rows[n_val:]
    print(f"[pretrain] {len(rows)} rows x {args.n_positions} tokens ({rows.numel():,} tokens), val {n_val} rows",
          flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.pretrain_lr, betas=(0.9, 0.95), weight_decay=0.1)
    ckpt = os.path.join(work_dir, "pretrain-state.pt")
    step, elapsed_before, history = 0, 0.0, []
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, elapsed_before, history = st["step"], st["elapsed"], st["history"]
        print(f"[pretrain] resumed at step {step} ({elapsed_before:.0f}s done)", flush=True)
    budget = args.pretrain_minutes * 60
    per_step, total = None, (0 if args.pretrain_minutes <= 0 else (args.max_steps or 10**9))
    g = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(rows), generator=g)
    t0, last_ckpt = time.time(), time.time()
    ones = torch.ones(args.pretrain_batch_size, args.n_positions, dtype=torch.long)

    def val_loss():
        model.eval()
        with torch.no_grad():
            tot = 0.0
            for j in range(0, len(val), 32):
                x = val[j:j + 32]
                lg, _ = model(x[:, :-1], torch.ones_like(x[:, :-1]))
                tot += float(F.cross_entropy(lg.reshape(-1, lg.size(-1)), x[:, 1:].reshape(-1), reduction="sum"))
        model.train()
        return tot / (len(val) * (args.n_positions - 1))

    model.train()
    while True:
        el = elapsed_before + time.time() - t0
        if step >= total or (not args.max_steps and el >= budget):
            break
        if per_step is None and step >= 20:
            per_step = el / step
            total = min(total, int(budget / per_step))
            print(f"[pretrain] {per_step:.2f}s/step -> {total} steps in {args.pretrain_minutes} min "
                  f"({total * args.pretrain_batch_size * args.n_positions:,} tokens, "
                  f"{total * args.pretrain_batch_size / len(rows):.2f} epochs)", flush=True)
        warm = min(200, max(1, total // 10))
        lr = args.pretrain_lr * (step + 1) / warm if step < warm else args.pretrain_lr * (
            0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm)))))
        for gr in opt.param_groups:
            gr["lr"] = lr
        i = (step * args.pretrain_batch_size) % len(rows)
        idx = order[i:i + args.pretrain_batch_size]
        x = rows[idx]
        logits, _ = model(x[:, :-1], ones[:len(idx), :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            vl = val_loss()
            history.append({"step": step, "train_loss": loss.item(), "val_loss": vl, "elapsed_s": round(el, 1)})
            print(f"[pretrain] step {step}/{total} loss {loss.item():.3f} val {vl:.3f} lr {lr:.2e} {el:.0f}s",
                  flush=True)
        if time.time() - last_ckpt > 120:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "elapsed": elapsed_before + time.time() - t0, "history": history}, ckpt)
            last_ckpt = time.time()
    vl = val_loss()
    info = {"steps": step, "tokens_seen": step * args.pretrain_batch_size * args.n_positions,
            "rows": len(rows), "final_val_loss": vl, "seconds": round(elapsed_before + time.time() - t0, 1),
            "history": history}
    print(f"[pretrain] done: {step} steps, val loss {vl:.3f}, {info['seconds']:.0f}s", flush=True)
    return info


def _previous_summary(ckpt):
    """The earlier fine-tuning's steps, time and best loss (its summary beside the checkpoint), for the card."""
    try:
        with open(ckpt + ".summary.json", encoding="utf-8") as f:
            s = json.load(f)
        return {k: s.get(k) for k in ("steps", "train_seconds", "best_val_loss", "best_val_ppl", "n_train_tokens")}
    except OSError:
        return None


def lr_at(step, total, args):
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    prog = min(1.0, (step - args.warmup_steps) / max(1, total - args.warmup_steps))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog)))


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, PyTorch {torch.__version__}"


def main():
    args = parse_args()
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(out_dir, exist_ok=True)
    is_default_out = out_dir == os.path.abspath(DEFAULT_OUT)
    ckpt_path = args.checkpoint or os.path.join("/tmp", os.path.basename(out_dir.rstrip("/")) + "-checkpoint.pt")
    fixture = args.fixture or (os.path.join(HERE, "tokenizer_parity_samples.json") if is_default_out else None)

    # ---------------- data + tokenizer ----------------
    work_dir = os.path.abspath(args.work_dir or os.path.join("/tmp", os.path.basename(out_dir.rstrip("/")) + "-work"))
    os.makedirs(work_dir, exist_ok=True)
    corpora = args.corpus or data_mod.DEFAULT_CORPORA
    pairs, corpus_stats = data_mod.load_pairs(corpora, limit=args.limit)
    train_pairs, val_pairs = data_mod.split_pairs(pairs, args.val_fraction, args.seed)
    cfg = GPTConfig(vocab_size=args.vocab_size, n_positions=args.n_positions, n_embd=args.n_embd,
                    n_layer=args.n_layer, n_head=args.n_head, dropout=args.dropout)
    pre_path = os.path.join(work_dir, "pretrained.pt")
    if args.stage in ("all", "pretrain"):
        texts, pre_stats = pretrain_data.load_pretrain_texts(
            nsmc_lines=args.limit * 5 if args.limit else args.pretrain_lines,
            seed=args.seed if args.pretrain_seed is None else args.pretrain_seed,
            max_read=args.limit * 20 if args.limit else None)
        chat_texts = [p["q"] for p in train_pairs] + [p["a"] for p in train_pairs]
        tok_texts = chat_texts * 2 + texts[:100000]
        if (args.resume or args.pretrain_init) and os.path.exists(os.path.join(work_dir, "tokenizer.json")):
            tok = tt.KoBPETokenizer.from_file(os.path.join(work_dir, "tokenizer.json"))
        else:
            tok = tt.train_tokenizer(tok_texts, work_dir, args.vocab_size, model_max_length=args.n_positions)
        cfg.vocab_size = len(tok)
        print(f"[tok] vocab {len(tok)} (chat text x2 + {min(len(texts), 100000)} pre-training lines)", flush=True)
        model = GPT(cfg)
        torch.manual_seed(args.seed)
        earlier = None
        if args.pretrain_init:
            init = torch.load(args.pretrain_init)
            model.load_state_dict(init["state_dict"])
            earlier = {"init": args.pretrain_init, **(init.get("info") or {})}
            print(f"[pretrain] starting from {args.pretrain_init}", flush=True)
        pre_info = pretrain(model, tok, texts, args, work_dir)
        pre_info.update(pre_stats)
        if earlier:
            pre_info["started_from"] = earlier
        torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(), "info": pre_info}, pre_path)
        if args.stage == "pretrain":
            print(f"[pretrain] saved {pre_path}; next: --stage finetune --work-dir {work_dir}")
            return
    else:
        tok = tt.KoBPETokenizer.from_file(os.path.join(work_dir, "tokenizer.json"))
        st = torch.load(pre_path)
        cfg = GPTConfig(**st["config"])
        cfg.dropout = args.dropout
        model = GPT(cfg)
        model.load_state_dict(st["state_dict"])
        pre_info = st["info"]
        if args.init:
            init = torch.load(args.init)
            model.load_state_dict(init["state_dict"])
            pre_info = {**pre_info, "continued_from": args.init, "previous_summary": _previous_summary(args.init)}
            print(f"[finetune] continuing from {args.init}", flush=True)
    for fn in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(work_dir, fn), os.path.join(out_dir, fn))
    print(f"[tok] vocab {len(tok)}; pairs: {len(pairs)} (train {len(train_pairs)}, val {len(val_pairs)})", flush=True)
    if fixture:
        tt.write_fixture(tok, pairs, fixture)
        print(f"[tok] parity fixture -> {fixture}")
    own = [p for p in train_pairs if not p["source"].endswith(".csv")]
    train_examples, skipped_t = make_examples(tok, train_pairs + own * max(0, args.own_repeat - 1), args.n_positions)
    val_examples, skipped_v = make_examples(tok, val_pairs, args.n_positions)
    n_train_tokens = sum(len(e[0]) for e in train_examples)
    print(f"[data] train examples {len(train_examples)} ({n_train_tokens} tokens, own corpus x{args.own_repeat}), "
          f"val {len(val_examples)}; skipped too long: {skipped_t + skipped_v}", flush=True)

    # ---------------- model ----------------
    n_params = model.num_parameters()
    print(f"[model] {cfg} params {n_params:,}", flush=True)
    use_fast = args.linear == "onednn"
    set_fast_linear(use_fast)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    steps_per_epoch = math.ceil(len(train_examples) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    eval_every = max(1, steps_per_epoch // max(1, args.evals_per_epoch))
    if args.max_steps:
        eval_every = min(eval_every, args.max_steps)
    print(f"[train] {steps_per_epoch} steps/epoch, planned {total_steps} steps, eval every {eval_every}", flush=True)

    rng = random.Random(args.seed)
    best = (float("inf"), None, 0)
    history, bad_evals, step, stop = [], 0, 0, None
    t_train = time.time()
    speed_mark = (t_train, 0)
    shrunk = False
    model.train()
    epoch = 0
    while stop is None:
        epoch += 1
        for inp, mask, tgt in batches(train_examples, args.batch_size, rng, tok.pad_token_id):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, args)
            logits, _ = model(inp, mask)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if not args.max_steps and (step == 100 or step % eval_every == 0):
                # fit the cosine schedule into the time budget: measured speed of the recent steps (+8 % for
                # evaluations); only ever shrinks, so the LR is annealed when the budget runs out even when
                # other jobs slow this one down (shared CPU)
                now = time.time()
                per_step = (now - speed_mark[0]) / max(1, step - speed_mark[1]) * 1.08
                speed_mark = (now, step)
                fit = step + int((args.time_budget_min * 60 - (now - t_train)) / per_step)
                if fit < total_steps:
                    print(f"[train] {per_step:.3f}s/step: shrinking the schedule from {total_steps} to {fit} steps "
                          f"({fit / steps_per_epoch:.1f} epochs) to fit --time-budget-min {args.time_budget_min}",
                          flush=True)
                    total_steps = max(fit, step + 1)
                    shrunk = True
            if step % 50 == 0:
                el = time.time() - t_train
                print(f"[train] ep {epoch} step {step}/{total_steps} loss {loss.item():.3f} "
                      f"lr {opt.param_groups[0]['lr']:.2e} {el:.0f}s", flush=True)
            if step % eval_every == 0 or step >= total_steps:
                vl = evaluate(model, val_examples, tok.pad_token_id) if val_examples else float("nan")
                el = time.time() - t_train
                history.append({"step": step, "epoch": round(step / steps_per_epoch, 2), "val_loss": vl,
                                "train_loss": loss.item(), "elapsed_s": round(el, 1)})
                improved = vl < best[0] or not val_examples or args.select == "last"
                if improved:
                    best = (vl, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
                    bad_evals = 0
                else:
                    bad_evals += 1
                print(f"[eval] step {step} epoch {step / steps_per_epoch:.2f} val_loss {vl:.4f} "
                      f"ppl {math.exp(min(vl, 50)):.2f} {'*' if improved else ''} {el:.0f}s", flush=True)
                if bad_evals >= args.patience:
                    stop = f"early stopping: no val improvement in {args.patience} evaluations"
                elif el > args.time_budget_min * 60 * 1.1:
                    stop = f"time budget of {args.time_budget_min} min reached"
            if step >= total_steps and stop is None:
                stop = ("max steps reached" if args.max_steps and step >= args.max_steps else
                        "end of the schedule (shrunk to fit the time budget)" if shrunk else "all epochs done")
            if stop:
                break
    train_seconds = time.time() - t_train
    print(f"[train] stopped: {stop} after {step} steps, {train_seconds:.0f}s; best val {best[0]:.4f} @ {best[2]}",
          flush=True)
    set_fast_linear(False)
    model.load_state_dict(best[1])
    model.eval()
    torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(), "best_step": best[2]}, ckpt_path)

    # ---------------- export ----------------
    special_ids = {t: i for i, t in enumerate(tt.SPECIAL_TOKENS)}
    export_onnx.write_configs(cfg, out_dir, special_ids)
    onnx_path = export_onnx.export_onnx(model, out_dir)
    print(f"[export] {onnx_path}", flush=True)

    train_q = {p["q"] for p in pairs}
    refs = []
    for prompt in REFERENCE_PROMPTS:
        pids = tok.encode_prompt(prompt)
        gen = model.generate_greedy(pids, max_new_tokens=32, eos_id=tok.eos_token_id)
        refs.append({"prompt": prompt, "in_training_data": prompt in train_q,
                     "chat_text": f"<usr>{prompt}<sys>", "prompt_ids": pids, "greedy_ids": gen,
                     "greedy_text": tok.decode(gen)})
    with open(os.path.join(out_dir, "reference_greedy.json"), "w", encoding="utf-8") as f:
        json.dump({"description": "Greedy continuations (PyTorch, KV cache, no repetition penalty, max 32 new "
                                  "tokens, stop at </s>). greedy_ids include the final </s> when produced.",
                   "max_new_tokens": 32, "eos_token_id": tok.eos_token_id, "references": refs},
                  f, ensure_ascii=False, indent=1)

    gen = torch.Generator().manual_seed(args.seed)
    samples = []
    for prompt in SAMPLE_PROMPTS:
        pids = tok.encode_prompt(prompt)
        g = tok.decode(model.generate_greedy(pids, 32, tok.eos_token_id))
        s = tok.decode(model.generate_sample(pids, 32, tok.eos_token_id, generator=gen))
        samples.append({"prompt": prompt, "in_training_data": prompt in train_q, "greedy": g, "sampled": s})
    total_seconds = time.time() - t_start
    val_loss = best[0]
    summary = {
        "config": cfg.to_dict(), "parameters": n_params, "vocab_size": len(tok), "best_val_loss": val_loss,
        "best_val_ppl": math.exp(val_loss) if val_loss == val_loss else None, "best_step": best[2],
        "steps": step, "stop_reason": stop, "train_seconds": round(train_seconds, 1),
        "total_seconds": round(total_seconds, 1), "history": history, "corpus": corpus_stats,
        "n_train_pairs": len(train_pairs), "n_val_pairs": len(val_pairs), "n_train_examples": len(train_examples),
        "n_train_tokens": n_train_tokens, "pretrain": pre_info, "samples": samples, "machine": machine_description(),
        "threads": args.threads, "linear_backend": "onednn" if use_fast else "torch",
        "command": " ".join(["/usr/bin/python3 training/gpt2/train.py"] + sys.argv[1:]), "args": vars(args),
    }
    with open(os.path.join(ckpt_path + ".summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    write_model_card(out_dir, summary, refs)
    sizes = {os.path.relpath(os.path.join(d, fn), out_dir): os.path.getsize(os.path.join(d, fn))
             for d, _, fns in os.walk(out_dir) for fn in fns}
    print(f"[done] {total_seconds:.0f}s total; files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(sizes.items())))
    print(f"[done] total size {sum(sizes.values()) / 1e6:.2f} MB; checkpoint {ckpt_path}")


def write_model_card(out_dir, s, refs):
    cfg = s["config"]
    ppl = f"{s['best_val_ppl']:.2f}" if s["best_val_ppl"] else "n/a"
    corpus_lines = "\n".join(f"| `{os.path.relpath(k, data_mod.REPO_ROOT) if k.startswith(data_mod.REPO_ROOT) else k}` | {v} |"
                             for k, v in s["corpus"].items())
    hist = "\n".join(f"| {h['step']} | {h['epoch']} | {h['train_loss']:.3f} | {h['val_loss']:.4f} | {h['elapsed_s']:.0f} |"
                     for h in s["history"])
    ref_lines = "\n".join(f"| {r['prompt']} | {'yes' if r['in_training_data'] else 'no'} | {r['greedy_text']} |"
                          for r in refs)
    sample_lines = "\n".join(f"| {x['prompt']} | {'yes' if x['in_training_data'] else 'no'} | {x['greedy']} | {x['sampled']} |"
                             for x in s["samples"])
    pre = s.get("pretrain") or {}
    prev = pre.get("previous_summary") or None
    pre_lines = (
        f"- Pre-training (`--stage pretrain`): {pre.get('steps', 0)} steps of {s['args']['pretrain_batch_size']} x {cfg['n_positions']} tokens "
        f"({pre.get('tokens_seen', 0):,} tokens seen, {pre.get('seconds', 0) / 60:.1f} min), final LM validation loss "
        f"{pre.get('final_val_loss', float('nan')):.3f} on held-out rows of the pre-training text. Text: "
        f"{pre.get('nsmc_used', 0):,} NSMC review lines (of {pre.get('nsmc_kept', 0):,} kept by `blocklist.txt` and the "
        f"filters, of {pre.get('nsmc_total', 0):,}) and {pre.get('i4k_kept', 0):,} 3i4k utterances."
    )
    if prev:
        pre_lines += (f"\n- A first fine-tuning from it ran {prev.get('steps')} steps ({(prev.get('train_seconds') or 0) / 60:.1f} min, "
                      f"best validation loss {prev.get('best_val_loss') or float('nan'):.4f}); the run below continued from its "
                      f"checkpoint (`--init`).")
    card = f"""# ko-chat-gpt2

A small Korean chit-chat model with the GPT-2 architecture, trained from scratch for this project's
NestJS chatbot. It is stored in the same layout as an optimum export of `skt/kogpt2-base-v2`
(`config.json` with `model_type: "gpt2"`, `tokenizer.json`, `onnx/model.onnx` decoder-with-past), so
`@huggingface/transformers` (transformers.js) loads it with `AutoModelForCausalLM` / `AutoTokenizer`.
It is a small model: replies are short and often generic or off-topic for unseen inputs, which is why the chat
samples several, ranks them and sends the fallback when none is good enough (see `src/modules/chat/reply/`).

## Format

Prompt: `<usr>{{question}}<sys>` (the tokenizer's `chat_template` with `add_generation_prompt`); the model
answers and ends with `</s>` (id 1). Single-turn data only. Keep prompt + new tokens <= {cfg['n_positions']}.

## Architecture

| | |
|---|---|
| layers / heads / width | {cfg['n_layer']} / {cfg['n_head']} / {cfg['n_embd']} (MLP {4 * cfg['n_embd']}, GELU tanh) |
| positions | {cfg['n_positions']} (learned) |
| blocks | pre-LayerNorm, causal self-attention, final LayerNorm, LM head tied to the token embedding |
| vocabulary | {s['vocab_size']} (BPE learned with sentencepiece, byte fallback, KoGPT2 special tokens `<s> </s> <usr> <pad> <sys> <unk> <mask>` = ids 0-6) |
| parameters | {s['parameters']:,} |
| dropout | {cfg['dropout']} |

## Data

| corpus | unique pairs used |
|---|---|
{corpus_lines}

- `ChatbotData.csv`: Chatbot_data_for_Korean v1.0 by Youngsook Song (2018), https://github.com/songys/Chatbot_data,
  MIT license (Copyright (c) 2018). Read in place, not redistributed here.
- Pre-training text: NSMC raw reviews (e9t/nsmc, CC0 1.0) filtered with `training/gpt2/blocklist.txt`, and the
  3i4k utterances (warnikchow/3i4k, CC BY-SA 4.0); read in place from `../shared/datasets/korean/`.
- `corpus/ko-smalltalk.jsonl`: this project's own hand-written small-talk pairs (repeated x{s['args']['own_repeat']} in training).
- Held-out validation: {s['n_val_pairs']} pairs ({s['args']['val_fraction'] * 100:.0f} % of the distinct questions by sha1, seed {s['args']['seed']}; ChatbotData and our corpus);
  training: {s['n_train_pairs']} pairs -> {s['n_train_examples']} examples, {s['n_train_tokens']:,} tokens.
- Loss on answer tokens and `</s>` only.

## Training

{pre_lines}
- AdamW (betas 0.9/0.95, weight decay {s['args']['weight_decay']}), lr {s['args']['lr']} with {s['args']['warmup_steps']} warmup steps and cosine decay
  to {s['args']['min_lr_ratio']}x, batch {s['args']['batch_size']}, gradient clipping 1.0, early stopping on validation loss
  (patience {s['args']['patience']} evaluations, {s['args']['evals_per_epoch']} per epoch), best checkpoint kept.
- Stop reason: {s['stop_reason']}; {s['steps']} steps, best at step {s['best_step']}.
- **Best validation loss {s['best_val_loss']:.4f} nats/token, perplexity {ppl}** (answer tokens of held-out questions).
- Training time {s['train_seconds'] / 60:.1f} min; whole pipeline (tokenizer, training, export, references) {s['total_seconds'] / 60:.1f} min.
- Machine: {s['machine']}; {s['threads']} thread(s); GEMM backend for training: {s['linear_backend']}.
- Command: `{s['command']}`

| step | epoch | train loss (batch) | val loss | elapsed s |
|---|---|---|---|---|
{hist}

## Greedy replies (reference_greedy.json, no repetition penalty)

| prompt | in training data | greedy reply |
|---|---|---|
{ref_lines}

## Sample replies (prompts written for this card)

Greedy (no penalty) and sampled (temperature 0.8, top-k 40, top-p 0.95, repetition penalty 1.2).

| prompt | in training data | greedy | sampled |
|---|---|---|---|
{sample_lines}

## Files

- `onnx/model.onnx`: fp32, opset {export_onnx.OPSET}, inputs `input_ids`, `attention_mask`, `position_ids`,
  `past_key_values.{{i}}.key/value` [batch_size, {cfg['n_head']}, past_sequence_length, {cfg['n_embd'] // cfg['n_head']}];
  outputs `logits`, `present.{{i}}.key/value`. One graph for the first and the following steps.
- `tokenizer.json`, `tokenizer_config.json` (with `chat_template`), `special_tokens_map.json`
- `config.json`, `generation_config.json` (greedy, repetition_penalty 1.2, no_repeat_ngram_size 3)
- `reference_greedy.json`: PyTorch greedy outputs that transformers.js must reproduce exactly
  (`training/gpt2/check_node_parity.mjs`).

## License notes

Model weights were trained on ChatbotData (MIT, Youngsook Song) and this project's own corpus. Keep the
attribution "Youngsook Song (2018). Chatbot_data_for_Korean v1.0" when redistributing. The architecture and
tokenizer layout follow GPT-2 / KoGPT2 conventions; no KoGPT2 weights or vocabulary are used
(KoGPT2 itself is CC-BY-NC-SA 4.0, see training/gpt2/README.md for serving it instead).
"""
    with open(os.path.join(out_dir, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(card)


if __name__ == "__main__":
    main()
