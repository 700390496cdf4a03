#!/usr/bin/python3
"""Trains the KoGPT2-style tokenizer and writes it in the Hugging Face `tokenizers` JSON format.

Pipeline
1. sentencepiece (python, BPE, identity normalization, whitespace-split pieces, character coverage 1.0 so
   every training character is a piece and the model never learns to emit byte tokens) learns the pieces.
2. The pieces are converted into a HF BPE model ourselves:
     ids 0..6   <s> </s> <usr> <pad> <sys> <unk> <mask>   (KoGPT2 order, also `added_tokens`, special)
     ids 7..262 <0x00> .. <0xFF>                          (byte fallback)
     id  263    "▁"
     then the sentencepiece pieces in sentencepiece order (merged pieces by merge order, then characters).
   merges: for every multi-character piece p (in vocab order), every split p = l + r with l and r in the
   vocab becomes a merge (l, r); rank = order of p. Every piece is therefore reachable by BPE.
3. Encoding in Python uses `KoBPETokenizer` below, a line-by-line re-implementation of what
   transformers.js / @huggingface/tokenizers does for this tokenizer.json:
     added-token split (longest match) -> NFC -> Metaspace(▁, prepend "always") -> BPE with
     (rank, left position) priority -> byte fallback -> fuse_unk.
   Parity with Node (AutoTokenizer in @huggingface/transformers 4.3.1) is checked by
   check_tokenizer_node.mjs over every corpus line; tokenizer_parity_samples.json is the fixture.

No piece contains "▁" except as its first character, so BPE over a whole Metaspace section (what
transformers.js does, it ignores `split`) equals BPE per whitespace-word (what HF Rust does with
split=true): no merge can cross a word boundary.
"""
import argparse
import io
import json
import os
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as data_mod  # noqa: E402

SPECIAL_TOKENS = ["<s>", "</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>"]
BOS, EOS, USR, PAD, SYS, UNK, MASK = SPECIAL_TOKENS
SPACE = "\u2581"
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]
MODEL_MAX_LENGTH = 128  # overwritten with n_positions by the trainer

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{ '<usr>' + message['content'] }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ '<sys>' + message['content'] + '</s>' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<sys>' }}{%- endif -%}"
)


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
def train_sentencepiece(texts, sp_vocab_size, character_coverage=1.0):
    import sentencepiece as spm
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=buf, model_type="bpe", vocab_size=sp_vocab_size,
        character_coverage=character_coverage, normalization_rule_name="identity",
        add_dummy_prefix=True, remove_extra_whitespaces=False, split_by_whitespace=True,
        bos_id=-1, eos_id=-1, pad_id=-1, unk_id=0, hard_vocab_limit=False,
        num_threads=1, minloglevel=2, input_sentence_size=0, shuffle_input_sentence=False)
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    return sp, buf.getvalue()


def build_vocab_and_merges(sp):
    vocab = {}
    for t in SPECIAL_TOKENS + BYTE_TOKENS + [SPACE]:
        vocab[t] = len(vocab)
    pieces = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i) or sp.is_control(i) or sp.is_unused(i):
            continue
        p = sp.id_to_piece(i)
        if p in vocab:
            continue
        if SPACE in p[1:]:
            continue  # never happens with split_by_whitespace; keeps merges inside words
        if p.startswith("<0x") or p in SPECIAL_TOKENS:
            continue
        vocab[p] = len(vocab)
        pieces.append(p)
    merges = []
    for p in pieces:
        if len(p) < 2:
            continue
        splits = []
        for k in range(1, len(p)):
            left, right = p[:k], p[k:]
            if left in vocab and right in vocab:
                splits.append((max(vocab[left], vocab[right]), vocab[left], left, right))
        if not splits:
            raise RuntimeError(f"piece {p!r} is not reachable by any merge")
        for _, _, left, right in sorted(splits):
            merges.append([left, right])
    return vocab, merges


def tokenizer_json(vocab, merges):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for t in SPECIAL_TOKENS
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "always", "split": True},
        "post_processor": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": UNK,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def tokenizer_config(model_max_length):
    added = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for i, t in enumerate(SPECIAL_TOKENS)
    }
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": UNK,
        "pad_token": PAD,
        "mask_token": MASK,
        "additional_special_tokens": [USR, SYS],
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "padding_side": "left",
        "chat_template": CHAT_TEMPLATE,
    }


def special_tokens_map():
    return {"bos_token": BOS, "eos_token": EOS, "unk_token": UNK, "pad_token": PAD, "mask_token": MASK,
            "additional_special_tokens": [USR, SYS]}


def write_tokenizer_files(out_dir, tok_json, model_max_length):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok_json, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(model_max_length), f, ensure_ascii=False, indent=2)
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(special_tokens_map(), f, ensure_ascii=False, indent=2)


def train_tokenizer(texts, out_dir, target_vocab_size=6000, model_max_length=MODEL_MAX_LENGTH):
    """Trains, writes tokenizer.json/tokenizer_config.json/special_tokens_map.json; returns KoBPETokenizer."""
    base = len(SPECIAL_TOKENS) + len(BYTE_TOKENS) + 1
    sp_size = max(300, target_vocab_size - base + 1)  # +1: sentencepiece's own <unk>
    sp, _ = train_sentencepiece(texts, sp_size)
    vocab, merges = build_vocab_and_merges(sp)
    tok = tokenizer_json(vocab, merges)
    write_tokenizer_files(out_dir, tok, model_max_length)
    return KoBPETokenizer(tok)


# --------------------------------------------------------------------------------------------
# encoding / decoding (mirror of @huggingface/tokenizers 0.2 as used by transformers.js 4.3.1)
# --------------------------------------------------------------------------------------------
class KoBPETokenizer:
    def __init__(self, tok_json):
        model = tok_json["model"]
        self.vocab = dict(model["vocab"])
        self.added = {t["content"]: t["id"] for t in tok_json["added_tokens"]}
        self.vocab.update(self.added)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.ranks = {(m[0], m[1]) if isinstance(m, list) else tuple(m.split(" ", 1)): i
                      for i, m in enumerate(model["merges"])}
        self.unk_id = self.vocab[model["unk_token"]]
        self.special_ids = {t["id"] for t in tok_json["added_tokens"] if t.get("special")}
        self.added_sorted = sorted(self.added, key=len, reverse=True)
        self._cache = {}
        self.bos_token_id, self.eos_token_id = self.vocab[BOS], self.vocab[EOS]
        self.usr_token_id, self.sys_token_id = self.vocab[USR], self.vocab[SYS]
        self.pad_token_id, self.unk_token_id = self.vocab[PAD], self.vocab[UNK]

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def __len__(self):
        return len(self.vocab)

    # longest-match split on added tokens (DictionarySplitter)
    def _split_added(self, text):
        out, start, i, n = [], 0, 0, len(text)
        while i < n:
            match = None
            for t in self.added_sorted:
                if text.startswith(t, i):
                    match = t
                    break
            if match:
                if i > start:
                    out.append(text[start:i])
                out.append(match)
                i += len(match)
                start = i
            else:
                i += 1
        if start < n:
            out.append(text[start:])
        return out

    def _bpe(self, word):
        if word in self._cache:
            return self._cache[word]
        syms = list(word)  # code points (JS Array.from)
        pos = list(range(len(syms)))  # original index of each symbol's first char = JS "bias" order
        while len(syms) > 1:
            best = None
            for k in range(len(syms) - 1):
                r = self.ranks.get((syms[k], syms[k + 1]))
                if r is not None and (best is None or (r, pos[k]) < best[0]):
                    best = ((r, pos[k]), k)
            if best is None:
                break
            k = best[1]
            syms[k:k + 2] = [syms[k] + syms[k + 1]]
            pos[k:k + 2] = [pos[k]]
        self._cache[word] = syms
        return syms

    def _model(self, pretokens):
        toks = []
        for pt in pretokens:
            for t in self._bpe(pt):
                if t in self.vocab:
                    toks.append(t)
                else:
                    bt = [f"<0x{b:02X}>" for b in t.encode("utf-8")]
                    toks.extend(bt if all(b in self.vocab for b in bt) else [UNK])
        # fuse_unk
        fused = []
        for t in toks:
            if t == UNK and fused and fused[-1] == UNK:
                continue
            fused.append(t)
        return fused

    def tokenize(self, text):
        tokens = []
        for section in self._split_added(text):
            if not section:
                continue
            if section in self.added:
                tokens.append(section)
                continue
            s = unicodedata.normalize("NFC", section)
            if not s:
                continue
            s = s.replace(" ", SPACE)
            if not s.startswith(SPACE):
                s = SPACE + s
            tokens.extend(self._model([s]))
        return tokens

    def encode(self, text):
        return [self.vocab.get(t, self.unk_id) for t in self.tokenize(text)]

    def decode(self, ids, skip_special_tokens=True):
        toks = [self.id_to_token.get(int(i), UNK) for i in ids]
        if skip_special_tokens:
            toks = [t for t, i in zip(toks, ids) if int(i) not in self.special_ids]
        toks = [t.replace(SPACE, " ") for t in toks]
        out, pending = [], bytearray()
        for t in toks:
            if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
                try:
                    pending.append(int(t[3:5], 16))
                    continue
                except ValueError:
                    pass
            if pending:
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
            out.append(t)
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        text = "".join(out)
        return text[1:] if text.startswith(" ") else text

    # KoGPT2-chatbot training format
    def encode_prompt(self, question):
        """`<usr>{q}<sys>` - identical to apply_chat_template(add_generation_prompt=True) + encode."""
        return [self.usr_token_id] + self.encode(question) + [self.sys_token_id]


# --------------------------------------------------------------------------------------------
# parity fixture
# --------------------------------------------------------------------------------------------
def parity_strings(pairs, n_corpus=170):
    import random
    rng = random.Random(1234)
    picked = rng.sample(pairs, min(n_corpus // 2, len(pairs)))
    strings = []
    for p in picked:
        strings.append(p["q"])
        strings.append(p["a"])
    strings += [
        "", " ", "  ", "안녕", " 안녕", "안녕 ", "안녕  하세요", "  앞뒤 공백  ", "줄바꿈\n다음 줄", "탭\t문자",
        "안녕하세요! 반가워요 :)", "ㅋㅋㅋㅋㅋ ㅎㅎ ㅠㅠ", "오늘 날씨 어때?", "Hello, world!", "GPT-2 모델 v1.0",
        "12시 땡!", "3박4일 놀러가고 싶다", "이모지 😀👍🏻 테스트", "한자 漢字 섞기", "日本語のテキスト",
        "\u1100\u1161\u11a8 (NFD 각)", "e\u0301 combining", "ﬁ ligature", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "<usr>안녕<sys>",
        "<usr>오늘 뭐 해?<sys>영화 보러 가요.</s>", "<usr> 공백 뒤<sys> 답변 </s>", "<s>시작</s>", "<unk><mask><pad>",
        "<usr>", "<sys></s>", "텍스트<usr>중간", "<<usr>>", "a<0x41>b", "▁메타▁스페이스", "쀍 똠 햏 뷁",
        "http://example.com/path?q=1&x=2", "email@example.com", "1,234,567원", "100% 확실해요...",
    ]
    return strings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=os.path.join(data_mod.REPO_ROOT, "models", "ko-chat-gpt2"))
    ap.add_argument("--corpus", nargs="+", default=None)
    ap.add_argument("--vocab-size", type=int, default=6000)
    ap.add_argument("--fixture", default=None, help="also write the parity fixture here")
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-positions", type=int, default=128, help="model_max_length")
    args = ap.parse_args()
    pairs, _ = data_mod.load_pairs(args.corpus)
    # same texts as train.py: the training split only (validation questions stay unseen)
    train_pairs, _ = data_mod.split_pairs(pairs, args.val_fraction, args.seed)
    texts = [p["q"] for p in train_pairs] + [p["a"] for p in train_pairs]
    tok = train_tokenizer(texts, args.out_dir, args.vocab_size, model_max_length=args.n_positions)
    print(f"vocab size {len(tok)} -> {args.out_dir}")
    if args.fixture:
        write_fixture(tok, pairs, args.fixture)


def write_fixture(tok, pairs, path):
    samples = []
    for s in parity_strings(pairs):
        ids = tok.encode(s)
        samples.append({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=True)})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"tokenizer": "models/ko-chat-gpt2/tokenizer.json", "samples": samples}, f,
                  ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
