"""Corpus loading for the Korean chat GPT-2 (shared by train_tokenizer.py and train.py).

Sources
- ChatbotData.csv (Youngsook Song, MIT): `Q,A,label`, UTF-8, CRLF, RFC 4180 quoting.
  Read in place from /work/shared/datasets/chatbot/ - never copied into the repo.
- Our own jsonl corpora (`{"q": ..., "a": ..., "intent": ...}` per line), e.g. corpus/ko-smalltalk.jsonl.
  A missing file is skipped with a warning; a broken line (file still being written) is skipped and counted.
"""
import csv
import json
import os
import random
import sys
import unicodedata

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CHATBOT_CSV = "/work/shared/datasets/chatbot/ChatbotData.csv"
SMALLTALK_JSONL = os.path.join(REPO_ROOT, "corpus", "ko-smalltalk.jsonl")
DEFAULT_CORPORA = [CHATBOT_CSV, SMALLTALK_JSONL]


def clean(text):
    """NFC (the tokenizer normalizer is NFC too), ASCII-space-only whitespace, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    return text


def _load_csv(path):
    pairs = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            label = (row.get("label") or "").strip()  # one row has "2   "
            pairs.append({"q": clean(row["Q"]), "a": clean(row["A"]), "tag": "chatbotdata:" + label,
                          "source": os.path.basename(path)})
    return pairs


def _load_jsonl(path):
    pairs, bad = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
                q, a = obj["q"], obj["a"]
                if not isinstance(q, str) or not isinstance(a, str):
                    raise ValueError("q/a not strings")
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            pairs.append({"q": clean(q), "a": clean(a), "tag": str(obj.get("intent", "")),
                          "source": os.path.basename(path)})
    if bad:
        print(f"[data] {path}: skipped {bad} malformed line(s)", file=sys.stderr)
    return pairs


def load_pairs(corpora=None, limit=None, verbose=True):
    """Returns (pairs, stats). Exact duplicate (q, a) pairs and empty q/a are dropped."""
    corpora = corpora or DEFAULT_CORPORA
    pairs, stats, seen = [], {}, set()
    for path in corpora:
        if not os.path.exists(path):
            print(f"[data] WARNING: corpus {path} not found - skipped", file=sys.stderr)
            stats[path] = 0
            continue
        loaded = _load_csv(path) if path.endswith(".csv") else _load_jsonl(path)
        kept = 0
        for p in loaded:
            key = (p["q"], p["a"])
            if not p["q"] or not p["a"] or key in seen:
                continue
            seen.add(key)
            pairs.append(p)
            kept += 1
        stats[path] = kept
        if verbose:
            print(f"[data] {path}: {len(loaded)} rows, {kept} unique pairs kept", file=sys.stderr)
    if limit:
        pairs = pairs[:limit]
    return pairs, stats


def split_pairs(pairs, val_fraction=0.05, seed=42):
    """Held-out split by *question* (all answers of one question land on the same side).

    A question is held out when sha1(seed:question) falls in the lowest val_fraction of the hash range, so the
    split of a question never depends on which other questions are loaded: growing corpus/ keeps every
    ChatbotData question on its side, and evaluations of different models compare on the same questions.
    """
    import hashlib

    cut = int(val_fraction * 2**32)

    def held_out(q):
        return int.from_bytes(hashlib.sha1(f"{seed}:{q}".encode("utf-8")).digest()[:4], "big") < cut

    val_q = {p["q"] for p in pairs if held_out(p["q"])} if len({p["q"] for p in pairs}) > 1 else set()
    train = [p for p in pairs if p["q"] not in val_q]
    val = [p for p in pairs if p["q"] in val_q]
    return train, val
