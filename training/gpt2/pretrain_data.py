"""Pre-training text for the chat GPT-2: colloquial Korean that is not chat pairs.

- NSMC raw reviews (e9t/nsmc, CC0 1.0): 688k lines of web Korean, filtered with blocklist.txt.
- 3i4k utterances (warnikchow/3i4k, CC BY-SA 4.0): 61k short utterances, the text column only.
Both are read in place from /work/shared/datasets/korean/ and never copied into the repository.
"""
import gzip
import os
import random
import re

from data import clean

KOREAN_DIR = "/work/shared/datasets/korean"
NSMC = os.path.join(KOREAN_DIR, "nsmc_reviews.txt.gz")
I4K = os.path.join(KOREAN_DIR, "3i4k_fci.txt")
BLOCKLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blocklist.txt")

_URL = re.compile(r"https?://|www\.|\.com|\.kr", re.I)
_HANGUL = re.compile(r"[가-힣]")


def load_blocklist(path=BLOCKLIST):
    with open(path, encoding="utf-8") as f:
        return [w.strip() for w in f if w.strip() and not w.lstrip().startswith("#")]


def keep(text, blocked, min_chars=6, max_chars=160):
    """A line worth learning from: mostly Hangul, not too short or long, no URL, nothing on the block list."""
    if not (min_chars <= len(text) <= max_chars) or _URL.search(text):
        return False
    if len(_HANGUL.findall(text)) < 0.5 * len(text.replace(" ", "")):
        return False
    squashed = text.replace(" ", "")
    return not any(w in squashed for w in blocked)


def load_pretrain_texts(nsmc_lines=None, seed=42, verbose=True, max_read=None):
    """Filtered NSMC lines (a random sample of nsmc_lines, or all) and 3i4k, shuffled; max_read: read only
    the first lines of each file (smoke runs)."""
    blocked = load_blocklist()
    stats = {}
    nsmc = []
    with gzip.open(NSMC, "rt", encoding="utf-8") as f:
        total = 0
        for line in f:
            if max_read and total >= max_read:
                break
            total += 1
            t = clean(line)
            if keep(t, blocked):
                nsmc.append(t)
    stats["nsmc_total"], stats["nsmc_kept"] = total, len(nsmc)
    rng = random.Random(seed)
    if nsmc_lines and nsmc_lines < len(nsmc):
        nsmc = rng.sample(nsmc, nsmc_lines)
    i4k = []
    with open(I4K, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if max_read and n >= max_read:
                break
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) == 2:
                t = clean(parts[1])
                if keep(t, blocked, min_chars=2):
                    i4k.append(t)
    stats["i4k_kept"] = len(i4k)
    stats["nsmc_used"] = len(nsmc)
    texts = nsmc + i4k
    rng.shuffle(texts)
    if verbose:
        print(f"[pretrain-data] NSMC {stats['nsmc_kept']}/{stats['nsmc_total']} lines kept after the filter, "
              f"{stats['nsmc_used']} used; 3i4k {stats['i4k_kept']}", flush=True)
    return texts, stats
