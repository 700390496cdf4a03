#!/usr/bin/env python3
"""Train a small CNN on MNIST and export it to ONNX for the model server.

Reads the original gzipped IDX training files (60,000 images), trains on the
first 55,000 and validates on the LAST 5,000 (never augmented), keeps the best
checkpoint by validation accuracy and writes into the output directory:

    model.onnx     input "input" [batch, 1, 28, 28] float32 (normalised),
                   output "logits" [batch, 10] (raw logits, no softmax)
    config.json    preprocessing / label metadata read by the server
    MODEL_CARD.md  architecture, data, training, results, license

Run with the Debian python that has torch:

    /usr/bin/python3 training/mnist/train_cnn.py            # real run
    /usr/bin/python3 training/mnist/train_cnn.py --limit 2000 --max-steps 20 \
        --out-dir /tmp/mnist-smoke                            # smoke test
"""

import argparse
import datetime
import gzip
import json
import math
import os
import platform
import random
import shlex
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.normpath(os.path.join(SCRIPT_DIR, "..", ".."))
DEFAULT_DATA_DIR = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "datasets", "mnist"))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "models", "mnist-cnn")

MEAN = 0.1307
STD = 0.3081
N_TOTAL = 60000
N_VAL = 5000
LABELS = [str(i) for i in range(10)]
def architecture(w):
    return (f"SmallConvNet (conv-BN-ReLU {w}-{w}-pool-{2 * w}-{2 * w}-pool-{4 * w}, global average pool, dropout, "
            "linear 10)")


# --------------------------------------------------------------------------- data

def _read_gz(path):
    with gzip.open(path, "rb") as f:
        return f.read()


def load_idx_images(path):
    raw = _read_gz(path)
    if len(raw) < 16:
        raise ValueError(f"{path}: file too short for an IDX3 header")
    magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise ValueError(f"{path}: bad magic {magic}, expected 2051")
    if rows != 28 or cols != 28:
        raise ValueError(f"{path}: expected 28x28 images, got {rows}x{cols}")
    expected = 16 + count * rows * cols
    if len(raw) != expected:
        raise ValueError(f"{path}: expected {expected} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def load_idx_labels(path):
    raw = _read_gz(path)
    if len(raw) < 8:
        raise ValueError(f"{path}: file too short for an IDX1 header")
    magic, count = struct.unpack(">II", raw[:8])
    if magic != 2049:
        raise ValueError(f"{path}: bad magic {magic}, expected 2049")
    if len(raw) != 8 + count:
        raise ValueError(f"{path}: expected {8 + count} bytes, got {len(raw)}")
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8)
    if labels.max() > 9:
        raise ValueError(f"{path}: label value > 9")
    return labels


def load_mnist(data_dir):
    images = load_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    labels = load_idx_labels(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    if len(images) != N_TOTAL or len(labels) != N_TOTAL:
        raise ValueError(f"expected {N_TOTAL} images and labels, got {len(images)} / {len(labels)}")
    return images, labels


def normalise(x_uint8_or_unit, already_unit=False):
    x = x_uint8_or_unit if already_unit else x_uint8_or_unit.float() / 255.0
    return (x - MEAN) / STD


def augment(x, gen, max_shift=2.5, max_rot_deg=11.0, scale_range=(0.9, 1.1)):
    """Random affine (rotation, isotropic scale, shift) applied to a whole batch.

    x: float tensor [B, 1, 28, 28] in [0, 1] (background 0, so zero padding is
    background). Uses one affine_grid + grid_sample call for the batch.
    """
    b = x.shape[0]
    ang = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(max_rot_deg)
    scale = torch.empty(b).uniform_(scale_range[0], scale_range[1], generator=gen)
    # shift in pixels -> normalised coordinates (align_corners=False: 2/28 per px)
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * max_shift * (2.0 / 28.0)
    # affine_grid maps output coords to input coords, so use the inverse
    # transform: input = R(-a) / s * (output - t).
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = sin
    theta[:, 1, 0] = -sin
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = -(cos * shift[:, 0] + sin * shift[:, 1])
    theta[:, 1, 2] = -(-sin * shift[:, 0] + cos * shift[:, 1])
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# --------------------------------------------------------------------------- model

def conv_bn_relu(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SmallConvNet(nn.Module):
    """`width` channels in the first block, twice that in the second, four times in the last."""

    def __init__(self, width=32, dropout=0.2):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(1, w),
            conv_bn_relu(w, w),
            nn.MaxPool2d(2),  # 14x14
            conv_bn_relu(w, 2 * w),
            conv_bn_relu(2 * w, 2 * w),
            nn.MaxPool2d(2),  # 7x7
            conv_bn_relu(2 * w, 4 * w),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(4 * w, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(self.dropout(x))


def fuse_for_inference(model):
    """Return an eval-mode copy with every Conv+BatchNorm pair folded into the conv."""
    import copy
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval().to(memory_format=torch.contiguous_format)
    for block in m.features:
        if isinstance(block, nn.Sequential) and isinstance(block[1], nn.BatchNorm2d):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
    return m


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------- train / eval

@torch.no_grad()
def evaluate(model, x_val, y_val, batch_size=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x_val), batch_size):
        xb = normalise(x_val[i:i + batch_size])
        correct += (model(xb).argmax(1) == y_val[i:i + batch_size]).sum().item()
    return correct / max(1, len(x_val))


def set_determinism(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="dir with the gzipped IDX training files (default: %(default)s)")
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="output dir (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--width", type=int, default=32, help="channels of the first block (x2, x4 in the next ones)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after N optimisation steps in total (0 = no limit; smoke tests)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images and a matching small validation slice (smoke tests)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="OneCycle peak learning rate (SGD, Nesterov momentum 0.9)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--no-augment", action="store_true", help="disable augmentation (for comparisons only)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in ([os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)] + sys.argv[1:]))
    torch.set_num_threads(args.threads)
    set_determinism(args.seed)
    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(out_dir, exist_ok=True)

    t_start = time.time()
    images, labels = load_mnist(args.data_dir)
    n_train_full = N_TOTAL - N_VAL
    x_train = torch.from_numpy(images[:n_train_full].copy()).unsqueeze(1)  # uint8 [N,1,28,28]
    y_train = torch.from_numpy(labels[:n_train_full].astype(np.int64))
    x_val = torch.from_numpy(images[n_train_full:].copy()).unsqueeze(1)
    y_val = torch.from_numpy(labels[n_train_full:].astype(np.int64))
    if args.limit:
        n_val_small = max(100, min(N_VAL, args.limit // 5))
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
        x_val, y_val = x_val[:n_val_small], y_val[:n_val_small]
    n_train = len(x_train)
    print(f"train {n_train} images (indices 0..{n_train - 1}), validation {len(x_val)} images "
          f"(indices {n_train_full}..{n_train_full + len(x_val) - 1}); threads={torch.get_num_threads()}", flush=True)

    model = SmallConvNet(args.width)
    ARCHITECTURE = architecture(args.width)
    n_params = count_params(model)
    # channels_last is ~20% faster for training on CPU (measured); export uses the default layout
    model = model.to(memory_format=torch.channels_last)
    print(f"model: {ARCHITECTURE}; {n_params} parameters", flush=True)

    steps_per_epoch = math.ceil(n_train / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    decay, no_decay = [], []
    for name, prm in model.named_parameters():
        (no_decay if prm.ndim <= 1 else decay).append(prm)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total_steps,
                                                pct_start=0.25, div_factor=10.0, final_div_factor=200.0)
    crit = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    gen = torch.Generator().manual_seed(args.seed)

    best_acc, best_state, best_epoch = -1.0, None, 0
    history = []
    step = 0
    t_train = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(n_train, generator=gen)
        t_ep, loss_sum, seen = time.time(), 0.0, 0
        for i in range(0, n_train, args.batch_size):
            if step >= total_steps:
                break
            idx = perm[i:i + args.batch_size]
            xb = x_train[idx].float() / 255.0
            if not args.no_augment:
                xb = augment(xb, gen)
            xb = normalise(xb, already_unit=True).contiguous(memory_format=torch.channels_last)
            yb = y_train[idx]
            loss = crit(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if step % 50 == 0:
                print(f"  epoch {epoch} step {step}/{total_steps} loss {loss_sum / seen:.4f} "
                      f"({time.time() - t_ep:.0f}s)", flush=True)
        acc = evaluate(model, x_val, y_val)
        ep_time = time.time() - t_ep
        history.append({"epoch": epoch, "train_loss": loss_sum / max(1, seen), "val_acc": acc, "seconds": round(ep_time, 1)})
        print(f"epoch {epoch}: train loss {loss_sum / max(1, seen):.4f}, val acc {acc * 100:.2f}% "
              f"({int(acc * len(x_val))}/{len(x_val)}), {ep_time:.0f}s", flush=True)
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if step >= total_steps:
            break
    train_seconds = time.time() - t_train
    model.load_state_dict(best_state)
    print(f"best val acc {best_acc * 100:.2f}% at epoch {best_epoch}; training took {train_seconds:.0f}s", flush=True)

    # ------------------------------------------------------------------ export
    fused = fuse_for_inference(model)
    with torch.no_grad():
        xv = normalise(x_val[:256])
        diff = (fused(xv) - model.eval()(xv)).abs().max().item()
    print(f"BN folding: max |logit diff| {diff:.2e}", flush=True)

    onnx_path = os.path.join(out_dir, "model.onnx")
    dummy = torch.zeros(1, 1, 28, 28, dtype=torch.float32)
    torch.onnx.export(fused, dummy, onnx_path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=14, do_constant_folding=True)
    import onnx
    onnx_model = onnx.load(onnx_path)
    onnx.checker.check_model(onnx_model)
    ops = sorted({n.op_type for n in onnx_model.graph.node})
    if "BatchNormalization" in ops:
        raise RuntimeError("BatchNormalization left in exported graph")
    onnx_size = os.path.getsize(onnx_path)
    print(f"wrote {onnx_path} ({onnx_size} bytes), ops: {', '.join(ops)}", flush=True)

    # single-image latency (PyTorch, fused eval model, current thread count)
    with torch.no_grad():
        one = normalise(x_val[:1])
        for _ in range(20):
            fused(one)
        reps = 200
        t0 = time.perf_counter()
        for _ in range(reps):
            fused(one)
        latency_ms = (time.perf_counter() - t0) / reps * 1000
    print(f"single-image PyTorch latency: {latency_ms:.2f} ms ({torch.get_num_threads()} thread(s))", flush=True)

    total_seconds = time.time() - t_start
    config = {
        "task": "image-classification",
        "architecture": ARCHITECTURE,
        "input_name": "input",
        "output_name": "logits",
        "input_shape": [1, 28, 28],
        "input_dtype": "float32",
        "output_shape": [10],
        "output_is": "logits (apply softmax for probabilities)",
        "normalization": {"scale": 255, "mean": MEAN, "std": STD},
        "labels": LABELS,
        "validation_accuracy": round(best_acc, 4),
        "validation_images": len(x_val),
        "parameters": n_params,
        "opset": 14,
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    write_model_card(out_dir, args, command, n_params, n_train, len(x_val), best_acc, best_epoch, history,
                     train_seconds, total_seconds, onnx_size, latency_ms, ops, step)
    print(f"done in {total_seconds:.0f}s; outputs in {out_dir}", flush=True)


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
    return (f"{cpu}, {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"PyTorch {torch.__version__}, CPU only, {torch.get_num_threads()} thread(s)")


def write_model_card(out_dir, args, command, n_params, n_train, n_val, best_acc, best_epoch, history,
                     train_seconds, total_seconds, onnx_size, latency_ms, ops, steps):
    smoke = bool(args.limit or args.max_steps)
    w = args.width
    rows = "\n".join(f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_acc'] * 100:.2f}% | {h['seconds']:.0f} |" for h in history)
    aug = ("none (--no-augment)" if args.no_augment else
           "random per-image affine on every training batch (one `F.affine_grid` + `F.grid_sample` call per batch, "
           "bilinear, zero = background padding): rotation uniform in ±11°, isotropic scale uniform in [0.9, 1.1], "
           "shift uniform in ±2.5 px on each axis. Validation images are never augmented.")
    card = f"""# MNIST CNN (`mnist-cnn`)

Small convolutional network that classifies a 28×28 grayscale handwritten digit into `0`–`9`.
{"**SMOKE-TEST RUN (limited data / steps) — not a usable model.**" if smoke else ""}

## Interface

- File: `model.onnx` (ONNX opset 14, {onnx_size:,} bytes; BatchNorm folded into the convolutions, eval mode).
  Ops: {", ".join(ops)}.
- Input `input`: float32 `[batch, 1, 28, 28]` (batch axis dynamic), white digit on black background like MNIST,
  normalised as `x = (pixel / 255 - 0.1307) / 0.3081`.
- Output `logits`: float32 `[batch, 10]`, raw logits for labels `"0"` … `"9"` (apply softmax for probabilities).
- `config.json` holds the same metadata for the server.

## Architecture

{architecture(w)}

`Conv3x3(1→{w})-BN-ReLU, Conv3x3({w}→{w})-BN-ReLU, MaxPool2, Conv3x3({w}→{2 * w})-BN-ReLU, Conv3x3({2 * w}→{2 * w})-BN-ReLU, MaxPool2,
Conv3x3({2 * w}→{4 * w})-BN-ReLU, GlobalAvgPool, Dropout(0.2), Linear({4 * w}→10)` (padding 1, convs without bias before BN).
Parameters: **{n_params:,}** (trainable, before BN folding).

## Data and split

- MNIST training set only (original `train-images-idx3-ubyte.gz` / `train-labels-idx1-ubyte.gz`, 60,000 images;
  see `shared/datasets/mnist/SOURCE.md` for provenance and checksums). The MNIST test set was not used.
- Training: the first {n_train:,} images (indices 0–{n_train - 1}). Validation: {n_val:,} images starting at index 55,000
  {"(the last 5,000 images, held out)" if n_val == N_VAL else "(a small slice of the held-out last 5,000)"}.

## Training

- Augmentation: {aug}
- Optimiser: SGD, Nesterov momentum 0.9, weight decay {args.weight_decay} (not on BN/bias), OneCycle LR
  (peak {args.lr}, 25% warm-up), batch size {args.batch_size}, cross-entropy with label smoothing {args.label_smoothing},
  {len(history)} epoch(s), {steps} optimisation steps, seed {args.seed}. Best checkpoint by validation accuracy (epoch {best_epoch}) was exported.
- Training time: {train_seconds:.0f} s ({train_seconds / 60:.1f} min) for training + validation; {total_seconds:.0f} s for the whole script.
- Machine: {machine_description()}.
- Command (from the repository root):

  ```
  {command}
  ```

| epoch | train loss (augmented) | val accuracy | seconds |
| --- | --- | --- | --- |
{rows}

## Results

- Validation accuracy (unaugmented held-out images): **{best_acc * 100:.2f}%** ({round(best_acc * n_val)}/{n_val}).
- Single-image latency in PyTorch (fused eval model, {torch.get_num_threads()} CPU thread(s)): {latency_ms:.2f} ms.

## Limitations

Trained on centred 28×28 MNIST-style digits (white on black). Other inputs (photos, dark-on-light
drawings without inversion, letters) give meaningless but confident-looking outputs.

## License

The weights are derived from the MNIST database by Yann LeCun, Corinna Cortes and Christopher J.C. Burges
(derived from NIST Special Databases 1 and 3), commonly redistributed under Creative Commons
Attribution-Share Alike 3.0 (CC BY-SA 3.0, the terms quoted by TensorFlow Datasets and Keras).
Attribute MNIST as above when redistributing this model.
"""
    with open(os.path.join(out_dir, "MODEL_CARD.md"), "w") as f:
        f.write(card)


if __name__ == "__main__":
    main()
