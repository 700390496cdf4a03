"""A small GPT-2 (our own code): learned token + position embeddings, pre-LN transformer blocks,
final LayerNorm, LM head tied to the token embedding, KV cache.

Forward signature mirrors the ONNX graph exported by export_onnx.py (optimum decoder-with-past):
    logits, presents = model(input_ids, attention_mask, position_ids, past_key_values)
    past_key_values / presents: list of (key, value), each [batch, n_head, seq, head_dim]
attention_mask is [batch, past_len + seq_len] (1 = real token, 0 = padding) and is combined with
the causal mask, so left-padded batches work.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 6000
    n_positions: int = 128
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    dropout: float = 0.1
    layer_norm_epsilon: float = 1e-5

    def to_dict(self):
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# Optional fast linear for CPU training. Some PyTorch builds (e.g. Debian's python3-torch) link the
# netlib reference BLAS (~4 GFLOPS on one core) but ship oneDNN; routing the GEMMs of training
# through oneDNN (mkldnn_linear) is ~15x faster. Only used while training (and its validation passes) when enabled by
# set_fast_linear(True); inference, the KV-cache reference and the ONNX export use plain F.linear.
# ------------------------------------------------------------------------------------------------
_FAST_LINEAR = False


def set_fast_linear(enabled):
    global _FAST_LINEAR
    _FAST_LINEAR = bool(enabled) and torch.backends.mkldnn.is_available()
    return _FAST_LINEAR


def _mm_nt(a, b):
    """a [m, k] @ b[n, k]^T via oneDNN."""
    return torch._C._nn.mkldnn_linear(a.contiguous().to_mkldnn(), b.contiguous(), None).to_dense()


class _OneDNNLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return torch._C._nn.mkldnn_linear(x.contiguous().to_mkldnn(), w.contiguous(), b).to_dense()

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        gy = gy.contiguous()
        gx = _mm_nt(gy, w.t())
        gw = _mm_nt(gy.t(), x.t())
        gb = gy.sum(0) if ctx.has_bias else None
        return gx, gw, gb


def linear(x, w, b=None):
    if _FAST_LINEAR:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        if torch.is_grad_enabled():
            y = _OneDNNLinear.apply(x2, w, b)
        else:
            y = torch._C._nn.mkldnn_linear(x2.contiguous().to_mkldnn(), w.contiguous(), b).to_dense()
        return y.view(*shape[:-1], w.shape[0])
    return F.linear(x, w, b)


def benchmark_linear_impls(m=512, k=256, n=1024, reps=5):
    """Returns {'torch': s, 'onednn': s} for one fwd+bwd linear; used by train.py --linear auto."""
    import time
    res = {}
    for name, fast in (("torch", False), ("onednn", True)):
        if fast and not torch.backends.mkldnn.is_available():
            continue
        prev = _FAST_LINEAR
        set_fast_linear(fast)
        x = torch.randn(m, k, requires_grad=True)
        w = torch.randn(n, k, requires_grad=True)
        linear(x, w).sum().backward()
        t = time.perf_counter()
        for _ in range(reps):
            linear(x, w).sum().backward()
        res[name] = (time.perf_counter() - t) / reps
        set_fast_linear(prev)
    return res


class Linear(nn.Linear):
    def forward(self, x):
        return linear(x, self.weight, self.bias)


def gelu_new(x):
    # GPT-2's tanh approximation ("gelu_new" in HF configs); written out so the ONNX export is plain ops
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.qkv = Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = Linear(cfg.n_embd, cfg.n_embd)
        self.attn_drop = nn.Dropout(cfg.dropout)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x, keep, past_k=None, past_v=None):
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(b, s, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(b, s, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(b, s, self.n_head, self.head_dim).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        att = att.masked_fill(~keep, torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        att = self.attn_drop(att)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, s, d)
        return self.resid_drop(self.proj(y)), k, v


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.fc = Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.fc_proj = Linear(4 * cfg.n_embd, cfg.n_embd)
        self.mlp_drop = nn.Dropout(cfg.dropout)

    def forward(self, x, keep, past_k=None, past_v=None):
        a, k, v = self.attn(self.ln_1(x), keep, past_k, past_v)
        x = x + a
        x = x + self.mlp_drop(self.fc_proj(gelu_new(self.fc(self.ln_2(x)))))
        return x, k, v


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.apply(self._init)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())  # tied head counted once

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        b, s = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + s, dtype=torch.long, device=input_ids.device)
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + s, device=input_ids.device).unsqueeze(0).expand(b, s)
        total = attention_mask.shape[1]
        # query i sits at absolute position total - s + i; it may see keys j <= that position
        q_pos = torch.arange(s, device=input_ids.device) + (total - s)
        k_pos = torch.arange(total, device=input_ids.device)
        causal = k_pos.unsqueeze(0) <= q_pos.unsqueeze(1)  # [s, total]
        keep = causal.unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)  # [b,1,s,total]

        # clamp: positions past n_positions reuse the last embedding instead of failing (ONNX Gather)
        position_ids = position_ids.clamp(0, self.cfg.n_positions - 1)
        x = self.drop(self.wte(input_ids) + self.wpe(position_ids))
        presents = []
        for i, blk in enumerate(self.blocks):
            pk, pv = past_key_values[i] if past_key_values is not None else (None, None)
            x, k, v = blk(x, keep, pk, pv)
            presents.append((k, v))
        x = self.ln_f(x)
        logits = linear(x, self.wte.weight)
        return logits, presents

    @torch.no_grad()
    def generate_greedy(self, prompt_ids, max_new_tokens=32, eos_id=1):
        """Greedy decoding with the KV cache (prompt in one step, then one token per step)."""
        self.eval()
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        logits, past = self(ids)
        out = []
        for _ in range(max_new_tokens):
            nxt = int(torch.argmax(logits[0, -1]))
            out.append(nxt)
            if nxt == eos_id or len(prompt_ids) + len(out) >= self.cfg.n_positions:
                break
            logits, past = self(torch.tensor([[nxt]]), past_key_values=past)
        return out

    @torch.no_grad()
    def generate_sample(self, prompt_ids, max_new_tokens=32, eos_id=1, temperature=0.8, top_k=40,
                        top_p=0.95, repetition_penalty=1.2, generator=None):
        self.eval()
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        logits, past = self(ids)
        out = []
        for _ in range(max_new_tokens):
            lg = logits[0, -1].clone()
            if repetition_penalty != 1.0:
                seen = torch.tensor(sorted(set(prompt_ids + out)))
                vals = lg[seen]
                lg[seen] = torch.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
            lg = lg / temperature
            if top_k:
                kth = torch.topk(lg, top_k).values[-1]
                lg[lg < kth] = -float("inf")
            probs = F.softmax(lg, dim=-1)
            if top_p < 1.0:
                sp, si = torch.sort(probs, descending=True)
                cut = torch.cumsum(sp, 0) - sp > top_p
                sp[cut] = 0
                probs = torch.zeros_like(probs).scatter(0, si, sp)
                probs = probs / probs.sum()
            nxt = int(torch.multinomial(probs, 1, generator=generator))
            out.append(nxt)
            if nxt == eos_id or len(prompt_ids) + len(out) >= self.cfg.n_positions:
                break
            logits, past = self(torch.tensor([[nxt]]), past_key_values=past)
        return out
