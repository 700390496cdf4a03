#!/usr/bin/env python3
"""Check an exported MNIST model.onnx against PyTorch on the 5,000 validation images.

No ONNX runtime is installed in the training environment, so the graph is
executed by a tiny NumPy interpreter for exactly the ops the exporter emits
(Conv, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm). The weights come from
the ONNX file itself; the reference is the same weights loaded into PyTorch
(`SmallConvNet` with BN folded) via the ONNX initializers.

    /usr/bin/python3 training/mnist/verify_onnx.py [--model-dir models/mnist-cnn]

Prints accuracy from both, max |logit difference|, argmax agreement and the
single-image PyTorch latency; exits non-zero if predictions differ.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_cnn  # noqa: E402


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def np_conv(x, w, b, strides, pads, dilations, group):
    assert group == 1 and tuple(dilations) == (1, 1)
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = strides
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    out = np.einsum("nckluv,ockl->nouv", cols, w, optimize=True)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_maxpool(x, kernel, strides, pads):
    assert not any(pads)
    kh, kw = kernel
    sh, sw = strides
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def run_onnx_numpy(model, x):
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            k = ins[1].shape[2:]
            out = np_conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]),
                          a.get("pads", [0, 0, 0, 0]), a.get("dilations", [1, 1]), a.get("group", 1))
            assert out.shape[2:] == tuple(out.shape[2:]) and len(k) == 2
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            out = np_maxpool(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), a.get("pads", [0, 0, 0, 0]))
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
        else:
            raise NotImplementedError(f"op {op} not supported by this checker")
        env[node.output[0]] = out.astype(np.float32)
    return env[model.graph.output[0].name]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", default=train_cnn.DEFAULT_OUT_DIR)
    p.add_argument("--data-dir", default=train_cnn.DEFAULT_DATA_DIR)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    model = onnx.load(os.path.join(args.model_dir, "model.onnx"))
    onnx.checker.check_model(model)
    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)

    def shape(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
    gi, go = model.graph.input[0], model.graph.output[0]
    print(f"opset {model.opset_import[0].version}; input {gi.name} {shape(gi)} "
          f"(elem type {gi.type.tensor_type.elem_type}); output {go.name} {shape(go)}")
    assert gi.name == cfg["input_name"] == "input" and go.name == cfg["output_name"] == "logits"

    images, labels = train_cnn.load_mnist(args.data_dir)
    xu = torch.from_numpy(images[55000:].copy()).unsqueeze(1)
    y = labels[55000:].astype(np.int64)
    norm = cfg["normalization"]
    x = ((xu.float() / norm["scale"] - norm["mean"]) / norm["std"]).numpy().astype(np.float32)

    # PyTorch reference built from the ONNX weights (BN already folded in the file).
    net = train_cnn.fuse_for_inference(train_cnn.SmallConvNet())
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    conv_nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == len(conv_nodes)
    with torch.no_grad():
        for m, n in zip(convs, conv_nodes):
            m.weight.copy_(init[n.input[1]])
            m.bias.copy_(init[n.input[2]])
        gemm = [n for n in model.graph.node if n.op_type == "Gemm"][0]
        gw = init[gemm.input[1]]
        net.fc.weight.copy_(gw if _attrs(gemm).get("transB", 0) else gw.T)
        net.fc.bias.copy_(init[gemm.input[2]])
        net.eval()
        t_logits = torch.cat([net(torch.from_numpy(x[i:i + 500])) for i in range(0, len(x), 500)]).numpy()

    o_logits = np.concatenate([run_onnx_numpy(model, x[i:i + 250]) for i in range(0, len(x), 250)])
    diff = np.abs(o_logits - t_logits).max()
    same = (o_logits.argmax(1) == t_logits.argmax(1)).mean()
    print(f"validation images: {len(x)}")
    print(f"accuracy  onnx(numpy) {np.mean(o_logits.argmax(1) == y) * 100:.2f}%  pytorch {np.mean(t_logits.argmax(1) == y) * 100:.2f}%  "
          f"config {cfg['validation_accuracy'] * 100:.2f}%")
    print(f"max |logit diff| {diff:.3e}; identical argmax: {same * 100:.2f}%")

    with torch.no_grad():
        one = torch.from_numpy(x[:1])
        for _ in range(50):
            net(one)
        reps = 500
        t0 = time.perf_counter()
        for _ in range(reps):
            net(one)
        ms = (time.perf_counter() - t0) / reps * 1000
    print(f"single-image PyTorch latency ({torch.get_num_threads()} thread): {ms:.2f} ms")
    if same != 1.0 or diff > 1e-3:
        sys.exit(1)


if __name__ == "__main__":
    main()
