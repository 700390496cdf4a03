#!/usr/bin/env python3
"""Makes a tiny BERT sentence encoder in the Hugging Face layout that @huggingface/transformers loads:

    <out>/config.json            model_type "bert"
    <out>/tokenizer.json         a WordPiece tokenizer (Hugging Face tokenizers JSON) over the corpus characters
    <out>/tokenizer_config.json
    <out>/onnx/model.onnx        inputs input_ids, attention_mask, token_type_ids; output last_hidden_state

The BERT is written here in plain PyTorch (no `transformers` needed) and exported with torch.onnx.export
(opset 14, dynamic batch and sequence axes). It is random-weight by default; `--steps N` trains it briefly
with an in-batch contrastive loss that pulls questions of the same intent together. It exists to test the
service's transformer embedder path end to end; for real use, export a real encoder (see README.md).

    /usr/bin/python3 training/sentence-encoder/make_tiny_bert.py --out models/ko-sentence-tiny \\
        [--corpus corpus/ko-smalltalk.jsonl] [--hidden 64] [--layers 2] [--heads 4] [--steps 0] [--seed 0] \\
        [--check "안녕하세요" "점심 뭐 먹지"]

It prints one JSON line: the files written and, for each --check sentence, the embedding the service should
compute (mean pooling over the last hidden state, L2-normalised), made with this script's own tokenizer.
"""
import argparse
import json
import math
import os
import random
import sys
import unicodedata

import torch
from torch import nn

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# --- tokenizer -------------------------------------------------------------------------------------------


def corpus_texts(paths):
    texts, intents = [], []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    texts.append(row["q"])
                    intents.append(row.get("intent", ""))
                    if row.get("a"):
                        texts.append(row["a"])
                        intents.append(None)
    return texts, intents


def is_punctuation(ch):
    # BERT's rule (tokenizers' BertPreTokenizer): ASCII symbols and every Unicode P* character.
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def pre_tokenize(text):
    """Whitespace split, then every punctuation character on its own (BertPreTokenizer)."""
    words = []
    for chunk in text.split():
        word = ""
        for ch in chunk:
            if is_punctuation(ch):
                if word:
                    words.append(word)
                words.append(ch)
                word = ""
            else:
                word += ch
        if word:
            words.append(word)
    return words


def build_vocab(texts):
    chars = set()
    for t in texts:
        for w in pre_tokenize(t):
            chars.update(w)
    chars = sorted(chars)
    vocab = list(SPECIALS) + chars + ["##" + c for c in chars if not is_punctuation(c)]
    return {tok: i for i, tok in enumerate(vocab)}


def wordpiece(word, vocab, max_chars=100):
    """Greedy longest-match-first, as the tokenizers library's WordPiece model."""
    if len(word) > max_chars:
        return ["[UNK]"]
    tokens, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                piece = sub
                break
            end -= 1
        if piece is None:
            return ["[UNK]"]
        tokens.append(piece)
        start = end
    return tokens


def encode(text, vocab):
    text = unicodedata.normalize("NFC", text)
    pieces = ["[CLS]"] + [p for w in pre_tokenize(text) for p in wordpiece(w, vocab)] + ["[SEP]"]
    return [vocab[p] for p in pieces]


def tokenizer_json(vocab, max_len):
    special = lambda tok: {  # noqa: E731
        "id": vocab[tok], "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
        "normalized": False, "special": True,
    }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": {
            "type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
            "strip_accents": False, "lowercase": False,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab,
        },
    }


def hf_configs(vocab_size, hidden, layers, heads, intermediate, max_len):
    """config.json and tokenizer_config.json of a BertModel in the Hugging Face layout."""
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab_size,
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "intermediate_size": intermediate, "hidden_act": "gelu", "max_position_embeddings": max_len,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    }
    tok_config = {
        "tokenizer_class": "BertTokenizer", "model_max_length": max_len, "do_lower_case": False,
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
    }
    return config, tok_config


# --- model -----------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.size = heads, hidden // heads
        self.query, self.key, self.value = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.size).transpose(1, 2)

    def forward(self, x, mask_bias):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.size) + mask_bias
        ctx = torch.softmax(scores, dim=-1) @ v
        b, _, t, _ = ctx.shape
        return self.out(ctx.transpose(1, 2).reshape(b, t, self.heads * self.size))


class Layer(nn.Module):
    def __init__(self, hidden, heads, intermediate):
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask_bias):
        x = self.attention_norm(x + self.attention(x, mask_bias))
        return self.output_norm(x + self.output(nn.functional.gelu(self.intermediate(x))))


class TinyBert(nn.Module):
    """BERT (post-LayerNorm encoder): token + position + segment embeddings, N layers, last_hidden_state."""

    def __init__(self, vocab_size, hidden, layers, heads, intermediate, max_len, type_vocab=2):
        super().__init__()
        self.word = nn.Embedding(vocab_size, hidden, padding_idx=0)
        self.position = nn.Embedding(max_len, hidden)
        self.segment = nn.Embedding(type_vocab, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden, heads, intermediate) for _ in range(layers)])
        self.register_buffer("position_ids", torch.arange(max_len).unsqueeze(0), persistent=False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = self.position_ids[:, : input_ids.shape[1]]
        x = self.norm(self.word(input_ids) + self.position(positions) + self.segment(token_type_ids))
        # Padding gets a large negative bias, so no position attends to it.
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x


def sentence_embedding(model, ids_list):
    """Mean of the last hidden state over real tokens, L2-normalised (what the service computes)."""
    out = []
    with torch.no_grad():
        for ids in ids_list:
            ids_t = torch.tensor([ids])
            ones = torch.ones_like(ids_t)
            h = model(ids_t, ones, torch.zeros_like(ids_t))[0]
            v = h.mean(dim=0)
            out.append((v / v.norm()).tolist())
    return out


def train(model, vocab, texts, intents, steps, seed):
    """In-batch supervised contrastive learning: questions of the same intent are positives."""
    labelled = [(t, i) for t, i in zip(texts, intents) if i]
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        batch = rng.sample(labelled, min(48, len(labelled)))
        ids = [encode(t, vocab) for t, _ in batch]
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([x + [0] * (width - len(x)) for x in ids])
        mask = (input_ids != 0).long()
        h = model(input_ids, mask, torch.zeros_like(input_ids))
        emb = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        emb = nn.functional.normalize(emb, dim=-1)
        sim = emb @ emb.T / 0.1
        labels = [i for _, i in batch]
        same = torch.tensor([[a == b for b in labels] for a in labels], dtype=torch.float32)
        eye = torch.eye(len(batch))
        sim = sim - eye * 1e4
        log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
        positives = same - eye
        loss = -((log_prob * positives).sum(1) / positives.sum(1).clamp(min=1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


# --- main ------------------------------------------------------------------------------------------------


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_corpus = os.path.join(here, "..", "..", "corpus", "ko-smalltalk.jsonl")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus", nargs="+", default=[default_corpus])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", nargs="*", default=[])
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    texts, intents = corpus_texts(args.corpus)
    vocab = build_vocab(texts)
    model = TinyBert(len(vocab), args.hidden, args.layers, args.heads, args.intermediate, args.max_len).eval()
    if args.steps > 0:
        train(model, vocab, texts, intents, args.steps, args.seed)

    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    config, tok_config = hf_configs(len(vocab), args.hidden, args.layers, args.heads, args.intermediate, args.max_len)
    files = {
        "config.json": config,
        "tokenizer.json": tokenizer_json(vocab, args.max_len),
        "tokenizer_config.json": tok_config,
    }
    for name, content in files.items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=1)

    sample = torch.tensor([encode("안녕하세요 반가워요", vocab)])
    onnx_path = os.path.join(args.out, "onnx", "model.onnx")
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model, (sample, torch.ones_like(sample), torch.zeros_like(sample)), onnx_path,
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
        opset_version=14, do_constant_folding=True,
    )
    print(json.dumps({
        "files": sorted(list(files) + ["onnx/model.onnx"]),
        "vocab_size": len(vocab),
        "hidden_size": args.hidden,
        "reference": sentence_embedding(model, [encode(s, vocab) for s in args.check]),
        "token_ids": [encode(s, vocab) for s in args.check],
    }, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
