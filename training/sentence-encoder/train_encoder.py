#!/usr/bin/python3
"""Trains our Korean sentence encoder (BERT architecture) and writes it in the Hugging Face layout:

    models/ko-sentence-encoder/
      config.json              model_type "bert" (BertModel)
      tokenizer.json           WordPiece over Hangul syllables (+ frequent multi-syllable pieces), BertPreTokenizer
      tokenizer_config.json
      onnx/model.onnx          input_ids, attention_mask, token_type_ids -> last_hidden_state (opset 14)
      reference_embeddings.json  PyTorch token ids and embeddings of sentences the Node tests compare against
      MODEL_CARD.md

Two stages, each on a time budget with checkpoints in --work-dir (so an interrupted run resumes with --resume):
  1. masked-language-model pre-training on NSMC reviews, 3i4k, ChatbotData and our corpus;
  2. contrastive fine-tuning (in-batch negatives, symmetric InfoNCE, same-group entries masked) on paraKQC
     paraphrase sets, Question_pair duplicates, KorSTS pairs scoring >= 4, KorNLI entailments (contradictions
     as hard negatives), our corpus' intent groups and ChatbotData question/answer pairs.
Held out and never trained on: every fifth paraKQC set, the KorSTS dev/test splits, the ChatbotData questions
that the chat GPT-2 holds out (same hash split), and everything in corpus/eval/.

    nohup /usr/bin/python3 training/sentence-encoder/train_encoder.py > /tmp/encoder.log 2>&1 &
    /usr/bin/python3 training/sentence-encoder/train_encoder.py --smoke --out /tmp/enc-smoke   # ~20 s
"""
import argparse
import csv
import gzip
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
import unicodedata

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "training", "gpt2"))
from make_tiny_bert import (  # noqa: E402
    SPECIALS, TinyBert, hf_configs, is_punctuation, pre_tokenize, tokenizer_json, wordpiece)
import data as chat_data  # noqa: E402  (training/gpt2/data.py: ChatbotData loading and the held-out split)

KOREAN = "/work/shared/datasets/korean"
DEFAULT_OUT = os.path.join(REPO, "models", "ko-sentence-encoder")
CORPUS = os.path.join(REPO, "corpus", "ko-smalltalk.jsonl")
OOS = os.path.join(REPO, "corpus", "out-of-scope.jsonl")

# Sentences (none from any training or eval file) whose embeddings the Node parity test checks.
PARITY_SENTENCES = [
    "안녕하세요", "반가워요!", "오늘 하루 어땠어?", "배가 너무 고프다", "내일 시험인데 하나도 못 했어",
    "퇴근길 지하철에 사람이 너무 많아", "고양이가 자꾸 키보드 위에 올라와", "주말에 등산 갈까 해",
    "요즘 잠을 통 못 자", "생일 선물로 뭘 받고 싶어?", "비 오는 날엔 부침개지", "너 이름이 뭐야",
    "숫자 인식은 어떻게 해?", "사진 속 얼굴 가려줄 수 있어?", "ㅋㅋㅋㅋ 진짜 웃기다", "ㅠㅠ 속상해",
    "헐 대박", "응 알겠어", "파이썬으로 정렬 코드 짜줘", "What's the capital of France?",
    "1+1은?", "임진왜란은 언제 일어났어?", "택시 좀 불러줘", "환율 알려줘", "   공백이   많은   문장   ",
    "ÅÉÎ 악센트", "😀 이모지만", "12345", "a", "ㄱㄴㄷ", "뷁 똠 햏", "동해물과 백두산이 마르고 닳도록",
    "회사 그만두고 싶다", "엄마가 보고 싶어", "여자친구랑 헤어졌어", "다이어트 중인데 치킨 땡겨",
    "커피 한 잔 할래?", "이사 준비 때문에 정신없어", "설거지 하기 싫다", "연휴에 뭐 해?",
    "친구랑 싸웠어", "강아지 산책 다녀왔어", "노래 추천해 줘", "영화 보러 갈래?", "게임 한 판 더?",
    "책 읽는 거 좋아해?", "여행 가고 싶다", "머리 잘랐어", "합격했어!", "너 바보야?", "넌 기분이 어때?",
    "긴 문장 " * 30,
]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--work-dir", default="/tmp/ko-sentence-encoder-work")
    ap.add_argument("--stage", choices=["all", "mlm", "contrastive"], default="all")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny data and a few steps (CI)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--words", type=int, default=3000, help="frequent whole words added to the vocabulary")
    ap.add_argument("--pieces", type=int, default=1500, help="frequent prefixes and ##suffixes, each")
    ap.add_argument("--nsmc-lines", type=int, default=150000)
    ap.add_argument("--mlm-minutes", type=float, default=0.0, help="0: no MLM stage (PPMI-SVD init only)")
    ap.add_argument("--ppmi-init", type=int, default=1, help="initialise word embeddings by PPMI + SVD (1/0)")
    ap.add_argument("--mlm-batch", type=int, default=64)
    ap.add_argument("--mlm-max-len", type=int, default=32)
    ap.add_argument("--mlm-lr", type=float, default=1e-3)
    ap.add_argument("--cl-minutes", type=float, default=20.0)
    ap.add_argument("--cl-batch", type=int, default=64)
    ap.add_argument("--cl-max-len", type=int, default=32,
                    help="tokens per sentence in contrastive batches (chat messages are short; a step costs ~linearly)")
    ap.add_argument("--cl-lr", type=float, default=1e-3)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--max-steps", type=int, default=None, help="cap on the steps of each stage")
    return ap.parse_args()


# --- data ------------------------------------------------------------------------------------------------

_NORMALISED = {}


def normalise_all(texts):
    """Runs the service's own text normaliser (src/modules/chat/text/normalize.ts, through Node) over texts,
    so the encoder learns from exactly what TransformerEmbedder will embed; results are cached."""
    todo = sorted({t for t in texts if t not in _NORMALISED})
    if todo:
        out = subprocess.run(
            ["node", "-r", "ts-node/register/transpile-only", os.path.join(REPO, "scripts", "normalize-texts.ts")],
            input="\n".join(json.dumps(t, ensure_ascii=False) for t in todo) + "\n", capture_output=True,
            text=True, cwd=REPO, check=True, env={**os.environ, "TS_NODE_PROJECT": os.path.join(REPO, "tsconfig.json")})
        lines = out.stdout.splitlines()
        assert len(lines) == len(todo), f"normaliser returned {len(lines)} lines for {len(todo)}"
        for t, n in zip(todo, lines):
            _NORMALISED[t] = json.loads(n)
    return [_NORMALISED[t] for t in texts]


def norm(t):
    return _NORMALISED.get(t, t)

def nfc(t):
    return " ".join(unicodedata.normalize("NFC", t).split())


def read_corpus(path):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
    return rows


def read_parakqc():
    with open(os.path.join(KOREAN, "paraKQC_v1.txt"), encoding="utf-8") as f:
        lines = [ln.rstrip("\n").split("\t") for ln in f if ln.strip()]
    return [nfc(x[2]) for x in lines]


def read_tsv(name):
    with open(os.path.join(KOREAN, name), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_question_pairs():
    with open(os.path.join(KOREAN, "question_pair_train.csv"), encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load_sources(args):
    """Returns (mlm_texts, positive pair sources {name: [(a, b, group, hard_negative or None)]}, stats). Held out
    and never returned: the ChatbotData questions of the GPT-2's sha1 split, every fifth paraKQC set, KorSTS
    dev/test; corpus/eval/ is not read at all."""
    rng = random.Random(args.seed)
    lim = 300 if args.smoke else None
    # chat pairs and the GPT-2's held-out split (never trained on here either)
    chat_pairs, _ = chat_data.load_pairs([chat_data.CHATBOT_CSV], verbose=False)
    cb_train, cb_val = chat_data.split_pairs(chat_pairs)
    corpus = read_corpus(CORPUS)
    oos = read_corpus(OOS)
    para = read_parakqc()
    sets = [para[i:i + 10] for i in range(0, len(para), 10)]
    para_train = [s for k, s in enumerate(sets) if k % 5 != 0]
    sts_train = read_tsv("korsts-train.tsv")
    nli = read_tsv("kornli-xnli-dev.tsv") + read_tsv("kornli-xnli-test.tsv")
    qp = read_question_pairs()

    texts = []
    with gzip.open(os.path.join(KOREAN, "nsmc_reviews.txt.gz"), "rt", encoding="utf-8") as f:
        nsmc = [nfc(x) for _, x in zip(range(lim * 4 if lim else 10**9), f)]
    nsmc = [t for t in nsmc if 4 <= len(t) <= 200]
    texts += rng.sample(nsmc, min(len(nsmc), lim or args.nsmc_lines))
    with open(os.path.join(KOREAN, "3i4k_fci.txt"), encoding="utf-8") as f:
        texts += [nfc(x.split("\t", 1)[1]) for _, x in zip(range(lim or 10**9), f) if "\t" in x]
    texts += [p["q"] for p in cb_train] + [p["a"] for p in cb_train]
    texts += [nfc(r["q"]) for r in corpus] + [nfc(r["a"]) for r in corpus] + [nfc(r["q"]) for r in oos]
    texts += [t for s in para_train for t in s]
    texts = [t for t in texts if t]

    src = {}
    src["parakqc"] = [(s[i], s[j], f"p{k}", None) for k, s in enumerate(para_train)
                      for i in range(len(s)) for j in range(len(s)) if i < j]
    by_intent = {}
    for r in corpus:
        by_intent.setdefault(r["intent"], []).append(nfc(r["q"]))
    src["corpus"] = [(q, p, f"i:{intent}", None) for intent, qs in by_intent.items()
                     for q in qs for p in rng.sample(qs, min(3, len(qs))) if p != q]
    by_kind = {}
    for r in oos:
        by_kind.setdefault(r.get("kind", "other"), []).append(nfc(r["q"]))
    src["out_of_scope"] = [(q, p, f"o:{k}", None) for k, qs in by_kind.items()
                           for q in qs for p in rng.sample(qs, min(2, len(qs))) if p != q]
    src["question_pair"] = [(nfc(r["question1"]), nfc(r["question2"]), f"q{n}", None)
                            for n, r in enumerate(qp) if r["is_duplicate"].strip() == "1"]
    src["korsts"] = [(nfc(r["sentence1"]), nfc(r["sentence2"]), f"s{n}", None)
                     for n, r in enumerate(sts_train) if float(r["score"]) >= 4.0]
    contra = {}
    for r in nli:
        if r["gold_label"] == "contradiction":
            contra.setdefault(r["sentence1"], []).append(nfc(r["sentence2"]))
    src["kornli"] = [(nfc(r["sentence1"]), nfc(r["sentence2"]), f"n{n}",
                      (contra.get(r["sentence1"]) or [None])[0])
                     for n, r in enumerate(nli) if r["gold_label"] == "entailment"]
    src["chatbot_qa"] = [(p["q"], p["a"], f"c{n}", None) for n, p in enumerate(cb_train)]
    if lim:
        src = {k: v[:lim] for k, v in src.items()}
    src = {k: v for k, v in src.items() if v}
    everything = texts + [x for v in src.values() for a, b, _, h in v for x in (a, b, h) if x]
    normalise_all(everything)
    texts = [norm(t) for t in texts]
    src = {k: [(norm(a), norm(b), g, norm(h) if h else None) for a, b, g, h in v] for k, v in src.items()}
    stats = {"mlm_texts": len(texts), "chatbot_train_pairs": len(cb_train), "chatbot_heldout_pairs": len(cb_val),
             "corpus_rows": len(corpus), "out_of_scope_rows": len(oos), "parakqc_train_sets": len(para_train),
             "parakqc_heldout_sets": len(sets) - len(para_train), **{f"pairs_{k}": len(v) for k, v in src.items()}}
    return texts, src, stats


# --- tokenizer -------------------------------------------------------------------------------------------

def ksx1001_syllables():
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR rows 0xB0-0xC8): nearly all syllables of real text."""
    out = []
    for hi in range(0xB0, 0xC9):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("euc-kr"))
            except UnicodeDecodeError:
                pass
    return out


def build_vocab(texts, n_words, n_pieces):
    from collections import Counter
    chars, words = Counter(), Counter()
    for t in texts:
        for w in pre_tokenize(t):
            words[w] += 1
            chars.update(w)
    base = set(ksx1001_syllables())
    base.update(chr(c) for c in range(0x3131, 0x3164))  # compatibility jamo: ㅋㅋ, ㅠㅠ, ㄱㄴㄷ
    base.update(chr(c) for c in range(33, 127))
    base.update(c for c, n in chars.items() if n >= 3)
    base = sorted(base)
    vocab = list(SPECIALS) + base + ["##" + c for c in base if not is_punctuation(c)]
    have = set(vocab)
    multi = [w for w, n in words.most_common() if len(w) > 1 and n >= 3 and len(w) <= 8][:n_words]
    prefixes, suffixes = Counter(), Counter()
    for w, n in words.items():
        for k in range(2, min(4, len(w) - 1) + 1):
            prefixes[w[:k]] += n
            suffixes[w[-k:]] += n
    extra = multi + [p for p, _ in prefixes.most_common(n_pieces)] + ["##" + s for s, _ in suffixes.most_common(n_pieces)]
    for t in extra:
        if t not in have:
            vocab.append(t)
            have.add(t)
    return {tok: i for i, tok in enumerate(vocab)}


def encode(text, vocab, max_len):
    text = unicodedata.normalize("NFC", text)
    pieces = [p for w in pre_tokenize(text) for p in wordpiece(w, vocab)]
    # Truncated after adding [CLS]/[SEP], as transformers.js truncates (a long text loses its [SEP]).
    return ([vocab["[CLS]"]] + [vocab[p] for p in pieces] + [vocab["[SEP]"]])[:max_len]


def pad(batch_ids):
    width = max(len(x) for x in batch_ids)
    ids = torch.tensor([x + [0] * (width - len(x)) for x in batch_ids])
    return ids, (ids != 0).long()


# --- model -----------------------------------------------------------------------------------------------

def bert_init(model):
    """BERT's initialisation (normal 0.02, zero biases, unit LayerNorms): PyTorch's default N(0, 1) embeddings
    would make the tied MLM logits ~16x too large."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def ppmi_svd_init(model, vocab, texts, dim, window=4, max_texts=300000, seed=42):
    """Word-embedding initialisation from co-occurrence statistics (positive PMI of subword pairs within
    `window` tokens, smoothed context distribution, truncated SVD): a bag of subwords that already puts
    related pieces near each other, so the short contrastive stage starts from meaning, not from noise."""
    import numpy as np
    rng = random.Random(seed)
    sample = texts if len(texts) <= max_texts else rng.sample(texts, max_texts)
    V = len(vocab)
    sep = V  # a separator between sentences; pairs touching it are dropped
    stream = []
    for t in sample:
        stream.extend(encode(t, vocab, 64)[1:-1])
        stream.append(sep)
    s = np.asarray(stream, dtype=np.int64)
    counts = np.zeros(V * V, dtype=np.float64)
    for d in range(1, window + 1):
        a, b = s[:-d], s[d:]
        keep = (a != sep) & (b != sep)
        # a separator inside the window also ends the pair
        for k in range(1, d):
            keep &= s[k:len(s) - d + k] != sep
        idx = a[keep] * V + b[keep]
        w = 1.0 / d
        counts += np.bincount(idx, minlength=V * V) * w
        counts += np.bincount(b[keep] * V + a[keep], minlength=V * V) * w
    m = counts.reshape(V, V)
    total = m.sum()
    row = m.sum(1, keepdims=True)
    col = m.sum(0, keepdims=True) ** 0.75
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((m * col.sum()) / (row * col + 1e-12) + 1e-12)
    ppmi = torch.from_numpy(np.where((m > 0) & np.isfinite(pmi), np.maximum(pmi, 0), 0).astype(np.float32))
    del m, counts, pmi
    u, sv, _ = torch.svd_lowrank(ppmi, q=dim, niter=4)
    emb = u * sv.sqrt()
    emb = emb / emb.std().clamp(min=1e-6) * 0.1
    seen = torch.from_numpy((row[:, 0] > 0))
    with torch.no_grad():
        model.word.weight[seen] = emb[seen]
    print(f"[init] PPMI-SVD word embeddings: {int(seen.sum())}/{V} tokens seen in {len(sample)} sentences, "
          f"{int(total):,} weighted pairs", flush=True)


def embed(model, ids, mask):
    h = model(ids, mask, torch.zeros_like(ids))
    m = mask[..., None].to(h.dtype)
    return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1), dim=-1)


class MlmHead(nn.Module):
    """BERT's prediction head (transform + LayerNorm + decoder tied to the word embeddings); not exported."""

    def __init__(self, model, hidden):
        super().__init__()
        self.dense, self.norm = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.bias = nn.Parameter(torch.zeros(model.word.num_embeddings))
        self.word = model.word

    def forward(self, h):
        return self.norm(F.gelu(self.dense(h))) @ self.word.weight.T + self.bias


def schedule(step, total, lr, warm_frac=0.06):
    warm = max(1, int(total * warm_frac))
    if step < warm:
        return lr * (step + 1) / warm
    return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


def timed_loop(name, args, minutes, step_fn, state_path, modules, opt, log_every=50):
    """Runs step_fn() until the time budget (or --max-steps), fitting a cosine schedule to the measured speed."""
    step, before = 0, 0.0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path)
        for m, sd in zip(modules, st["modules"]):
            m.load_state_dict(sd)
        opt.load_state_dict(st["opt"])
        step, before = st["step"], st["elapsed"]
        print(f"[{name}] resumed at step {step} ({before:.0f}s done)", flush=True)
    total = args.max_steps or 10**9
    t0, saved = time.time(), time.time()
    base_lr = opt.param_groups[0]["lr"] if step == 0 else opt.param_groups[0].get("initial_lr", opt.param_groups[0]["lr"])
    for g in opt.param_groups:
        g.setdefault("initial_lr", base_lr)
    base_lr = opt.param_groups[0]["initial_lr"]
    while True:
        el = before + time.time() - t0
        if step >= total or (not args.max_steps and el >= minutes * 60):
            break
        if not args.max_steps and step == 20:
            total = int(minutes * 60 / (el / 20))
            print(f"[{name}] {el / 20:.3f}s/step -> {total} steps in {minutes} min", flush=True)
        for g in opt.param_groups:
            g["lr"] = schedule(step, total if total < 10**9 else 2000, base_lr)
        loss = step_fn(step)
        step += 1
        if step % log_every == 0:
            print(f"[{name}] step {step}/{total} loss {loss:.4f} lr {opt.param_groups[0]['lr']:.2e} {el:.0f}s",
                  flush=True)
        if time.time() - saved > 120:
            torch.save({"modules": [m.state_dict() for m in modules], "opt": opt.state_dict(), "step": step,
                        "elapsed": before + time.time() - t0}, state_path)
            saved = time.time()
    return {"steps": step, "seconds": round(before + time.time() - t0, 1)}


def train_mlm(model, vocab, texts, args, rng):
    head = MlmHead(model, args.hidden)
    params = list(model.parameters()) + [p for n, p in head.named_parameters() if not n.startswith("word.")]
    opt = torch.optim.AdamW(params, lr=args.mlm_lr, weight_decay=0.01)
    mask_id, n_vocab = vocab["[MASK]"], len(vocab)
    n_special = len(SPECIALS)
    encoded = {}

    def step_fn(step):
        batch = [texts[rng.randrange(len(texts))] for _ in range(args.mlm_batch)]
        # Short rows for MLM: most of what it learns is local, and a long review costs like four short ones.
        ids, att = pad([encoded.setdefault(t, encode(t, vocab, args.mlm_max_len)) for t in batch])
        labels = ids.clone()
        cand = ids >= n_special
        pick = (torch.rand(ids.shape) < 0.15) & cand
        labels[~pick] = -100
        inp = ids.clone()
        r = torch.rand(ids.shape)
        inp[pick & (r < 0.8)] = mask_id
        rand_tok = pick & (r >= 0.8) & (r < 0.9)
        inp[rand_tok] = torch.randint(n_special, n_vocab, (int(rand_tok.sum()),))
        h = model(inp, att, torch.zeros_like(inp))
        sel = labels != -100
        logits = head(h[sel])
        loss = F.cross_entropy(logits, labels[sel])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    model.train()
    info = timed_loop("mlm", args, args.mlm_minutes, step_fn, os.path.join(args.work_dir, "mlm-state.pt"),
                      [model, head], opt)
    model.eval()
    return info


# Share of each source in a contrastive batch.
MIX = {"corpus": 0.30, "parakqc": 0.22, "chatbot_qa": 0.14, "question_pair": 0.10, "kornli": 0.12,
       "korsts": 0.06, "out_of_scope": 0.06}


def train_contrastive(model, vocab, src, args, rng):
    opt = torch.optim.AdamW(model.parameters(), lr=args.cl_lr, weight_decay=0.01)
    names = [k for k in MIX if k in src]
    weights = [MIX[k] for k in names]
    encoded = {}
    enc = lambda t: encoded.setdefault(t, encode(t, vocab, args.cl_max_len))  # noqa: E731
    scale = 1.0 / args.temperature

    def step_fn(step):
        batch = []
        for name in rng.choices(names, weights, k=args.cl_batch):
            batch.append(src[name][rng.randrange(len(src[name]))])
        groups = [g for _, _, g, _ in batch]
        a_ids, a_mask = pad([enc(a) for a, _, _, _ in batch])
        hard = [h for _, _, _, h in batch if h]
        b_ids, b_mask = pad([enc(b) for _, b, _, _ in batch] + [enc(h) for h in hard])
        ea, eb = embed(model, a_ids, a_mask), embed(model, b_ids, b_mask)
        n = len(batch)
        same = torch.tensor([[groups[i] == groups[j] and i != j for j in range(n)] for i in range(n)])
        sim = ea @ eb.T * scale  # n x (n + hard)
        sim[:, :n] = sim[:, :n].masked_fill(same, -1e4)
        target = torch.arange(n)
        sim_b = (eb[:n] @ ea.T * scale).masked_fill(same, -1e4)
        loss = (F.cross_entropy(sim, target) + F.cross_entropy(sim_b, target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    model.train()
    info = timed_loop("contrastive", args, args.cl_minutes, step_fn,
                      os.path.join(args.work_dir, "cl-state.pt"), [model], opt)
    model.eval()
    return info


# --- evaluation (held-out data only) -----------------------------------------------------------------------

@torch.no_grad()
def embed_texts(model, vocab, texts, max_len, bs=256):
    out = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    res = [None] * len(texts)
    for j in range(0, len(order), bs):
        idx = order[j:j + bs]
        ids, mask = pad([encode(texts[i], vocab, max_len) for i in idx])
        e = embed(model, ids, mask)
        for k, i in enumerate(idx):
            res[i] = e[k]
    return torch.stack(res) if res else torch.zeros(0)


def spearman(x, y):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


@torch.no_grad()
def evaluate(model, vocab, args):
    sts = read_tsv("korsts-test.tsv")
    if args.smoke:
        sts = sts[:100]
    s1 = normalise_all([nfc(r["sentence1"]) for r in sts])
    s2 = normalise_all([nfc(r["sentence2"]) for r in sts])
    e1 = embed_texts(model, vocab, s1, args.max_len)
    e2 = embed_texts(model, vocab, s2, args.max_len)
    rho = spearman((e1 * e2).sum(1).tolist(), [float(r["score"]) for r in sts])
    para = read_parakqc()
    if args.smoke:
        para = para[:200]
    e = embed_texts(model, vocab, normalise_all(para), args.max_len)
    held = [i for i in range(len(para)) if (i // 10) % 5 == 0]
    sims = e[held] @ e.T
    for r, i in enumerate(held):
        sims[r, i] = -2
    top = sims.argmax(1).tolist()
    acc = sum(1 for r, i in enumerate(held) if top[r] // 10 == i // 10) / len(held)
    return {"korsts_test_spearman": round(rho, 4), "parakqc_heldout_top1": round(acc, 4),
            "korsts_test_pairs": len(sts), "parakqc_queries": len(held), "parakqc_pool": len(para)}


# --- export ----------------------------------------------------------------------------------------------

def export(model, vocab, args, out):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    config, tok_config = hf_configs(len(vocab), args.hidden, args.layers, args.heads, args.intermediate, args.max_len)
    for name, content in (("config.json", config), ("tokenizer.json", tokenizer_json(vocab, args.max_len)),
                          ("tokenizer_config.json", tok_config)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=None if name == "tokenizer.json" else 1)
    sample = torch.tensor([encode("안녕하세요 반가워요", vocab, args.max_len)])
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model, (sample, torch.ones_like(sample), torch.zeros_like(sample)), os.path.join(out, "onnx", "model.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
        opset_version=14, do_constant_folding=True)
    refs = []
    with torch.no_grad():
        for s, n in zip(PARITY_SENTENCES, normalise_all(PARITY_SENTENCES)):
            ids = encode(n, vocab, args.max_len)
            t = torch.tensor([ids])
            refs.append({"text": s, "normalised": n, "ids": ids,
                         "embedding": [round(x, 7) for x in embed(model, t, torch.ones_like(t))[0].tolist()]})
    with open(os.path.join(out, "reference_embeddings.json"), "w", encoding="utf-8") as f:
        json.dump({"description": "PyTorch token ids and mean-pooled, L2-normalised embeddings (train_encoder.py)",
                   "max_length": args.max_len, "references": refs}, f, ensure_ascii=False)


def write_card(out, s):
    mix = "\n".join(f"| {k} | {v} |" for k, v in s["data"].items())
    scores = s["scores"]
    card = f"""# ko-sentence-encoder

Our own Korean sentence encoder for the chat's FAISS retrieval: a BERT-architecture encoder trained from
scratch on this project's machine, in the Hugging Face layout that a real KoBERT / ko-sroberta export has
(`config.json` with `model_type: "bert"`, `tokenizer.json`, `onnx/model.onnx`). The service runs it with
`@huggingface/transformers` on onnxruntime-node (`CHAT_EMBEDDER=transformer`, `CHAT_ENCODER_MODEL=ko-sentence-encoder`):
mean pooling over the last hidden state, L2-normalised.

## Architecture

| | |
|---|---|
| layers / heads / width | {s['args']['layers']} / {s['args']['heads']} / {s['args']['hidden']} (FFN {s['args']['intermediate']}, GELU, post-LayerNorm) |
| positions | {s['args']['max_len']} (longer input is truncated) |
| vocabulary | {s['vocab_size']} WordPiece tokens: the 2,350 KS X 1001 Hangul syllables (word-initial and `##`), compatibility jamo, ASCII, and the most frequent words, prefixes and `##`suffixes of the training text |
| parameters | {s['parameters']:,} |
| ONNX | fp32, opset 14, {s['onnx_mb']:.1f} MB |

## Data

| source | rows used |
|---|---|
{mix}

- NSMC raw reviews (e9t/nsmc, CC0 1.0); 3i4k (warnikchow/3i4k, CC BY-SA 4.0); paraKQC (warnikchow/paraKQC,
  CC BY-SA 4.0); Question_pair (songys/Question_pair, MIT); KorSTS and KorNLI (kakaobrain/KorNLUDatasets,
  CC BY-SA 4.0); ChatbotData (songys/Chatbot_data, MIT); this project's corpus (`corpus/ko-smalltalk.jsonl`,
  `corpus/out-of-scope.jsonl`). Read in place from `../shared/datasets/`, never redistributed. Because of the
  CC BY-SA sources, the weights are shared under CC BY-SA 4.0 with this attribution.
- Held out, never trained on: every fifth paraKQC set (200 sets), KorSTS dev and test, the ChatbotData
  questions the chat GPT-2 holds out (sha1 split, 5 %), and every file of `corpus/eval/`.

## Training

1. Word embeddings initialised from co-occurrence statistics of the training text (positive PMI of subword
   pairs within 4 tokens, truncated SVD to {s['args']['hidden']} dimensions; {s['mlm'].get('ppmi_seconds', 0):.0f} s); held-out scores right
   after it, before any training: {json.dumps(s['mlm'].get('after_init'))}. Masked-LM steps: {s['mlm']['steps']}.
2. Contrastive fine-tuning: symmetric InfoNCE with in-batch negatives (temperature {s['args']['temperature']}),
   KorNLI contradictions as hard negatives, entries of the same group (paraKQC set, corpus intent) masked out of the
   negatives; batches of {s['args']['cl_batch']} pairs mixed as {json.dumps(MIX)}; {s['cl']['steps']} steps, {s['cl']['seconds'] / 60:.1f} min.

- Machine: {s['machine']}; {s['args']['threads']} threads ({s['threads_note']}).
- Whole run {s['total_seconds'] / 60:.1f} min. Command: `{s['command']}`

## Scores (held-out data)

| measure | this encoder |
|---|---|
| KorSTS test Spearman ({scores['korsts_test_pairs']} pairs) | {scores['korsts_test_spearman']:.4f} |
| paraKQC top-1 among all {scores['parakqc_pool']:,} sentences ({scores['parakqc_queries']:,} held-out queries) | {scores['parakqc_heldout_top1']:.4f} |

The same measures for the hashed n-gram embedder, and the chat eval sets (easy, hard paraphrases,
out-of-domain) for every embedder, come from `npm run eval:chat`; see EVAL.md in this folder.
"""
    with open(os.path.join(out, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(card)


def main():
    args = parse_args()
    if args.smoke:
        args.hidden, args.layers, args.heads, args.intermediate = 32, 1, 2, 64
        args.max_steps = args.max_steps or 3
        args.words, args.pieces = 200, 100
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)
    texts, src, data_stats = load_sources(args)
    print(f"[data] {json.dumps(data_stats)}", flush=True)
    vocab_path = os.path.join(args.work_dir, "vocab.json")
    if args.stage != "all" and os.path.exists(vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
    else:
        vocab = build_vocab(texts, args.words, args.pieces)
        with open(vocab_path, "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
    model = TinyBert(len(vocab), args.hidden, args.layers, args.heads, args.intermediate, args.max_len)
    bert_init(model)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"[model] vocab {len(vocab)}, params {n_params:,}", flush=True)
    mlm_path = os.path.join(args.work_dir, "after-mlm.pt")
    mlm_info = {"steps": 0, "seconds": 0}
    if args.stage in ("all", "mlm") and args.ppmi_init:
        t0 = time.time()
        ppmi_svd_init(model, vocab, texts, args.hidden)
        mlm_info["ppmi_seconds"] = round(time.time() - t0, 1)
        mlm_info["after_init"] = evaluate(model, vocab, args)
        print(f"[init] held-out after PPMI-SVD init (no training yet): {mlm_info['after_init']}", flush=True)
    if args.stage in ("all", "mlm") and args.mlm_minutes <= 0:
        torch.save({"model": model.state_dict(), "info": mlm_info}, mlm_path)
    elif args.stage in ("all", "mlm"):
        mlm_info = train_mlm(model, vocab, texts, args, rng)
        torch.save({"model": model.state_dict(), "info": mlm_info}, mlm_path)
        print(f"[mlm] done {mlm_info}; held-out: {evaluate(model, vocab, args)}", flush=True)
        if args.stage == "mlm":
            return
    else:
        st = torch.load(mlm_path)
        model.load_state_dict(st["model"])
        mlm_info = st["info"]
    cl_info = train_contrastive(model, vocab, src, args, rng)
    scores = evaluate(model, vocab, args)
    print(f"[contrastive] done {cl_info}; held-out: {scores}", flush=True)
    out = os.path.abspath(args.out)
    export(model, vocab, args, out)
    cpu = platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    summary = {
        "args": vars(args), "vocab_size": len(vocab), "parameters": n_params, "data": data_stats,
        "mlm": mlm_info, "cl": cl_info, "scores": scores,
        "onnx_mb": os.path.getsize(os.path.join(out, "onnx", "model.onnx")) / 1e6,
        "machine": f"{cpu}, {os.cpu_count()} logical CPUs, PyTorch {torch.__version__}, OpenBLAS",
        "threads_note": "1 vs 2 threads was measured on the chat GPT-2 training step (2 are 1.4x faster), not re-measured for this model",
        "total_seconds": time.time() - t_start,
        "command": " ".join(["/usr/bin/python3 training/sentence-encoder/train_encoder.py"] + sys.argv[1:]),
    }
    with open(os.path.join(args.work_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    write_card(out, summary)
    print(f"[done] {out} in {summary['total_seconds'] / 60:.1f} min; {summary['onnx_mb']:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
