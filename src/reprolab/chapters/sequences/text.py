"""The char-RNN's text: the course's cut of the ebook, its windows, sampling with a temperature, and
measurable facts about generated text.

The course cuts the book from the line holding "Charles Baudelaire avait un ami" (the start of
Frichet's preface) to the line before "End of the Project Gutenberg EBook" (which
`read_gutenberg` drops with the footer), strips and lower-cases each line, drops the empty ones
and joins the rest with one space: 146,176 characters, 60 symbols on the real ebook.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import torch
from torch.nn import functional as F

from reprolab.errors import DataError

WORD = re.compile(r"[^\W\d_]+")  # a run of letters (accented ones included)


def course_text(body: str, start: str | None) -> str:
    """The book's text as the course uses it (module docstring); `body` is `read_gutenberg`'s."""
    lines = body.splitlines()
    if start:
        first = next((i for i, line in enumerate(lines) if start in line), None)
        if first is None:
            raise DataError(f"no line of the ebook holds {start!r} (the course's first line); is it "
                            f"Project Gutenberg's ebook 6099?")
        lines = lines[first:]
    return " ".join(line.strip().lower() for line in lines if line.strip())


def windows(ids: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of `length` symbols (stride 1) and the symbol after it: [N, length], [N]."""
    if len(ids) <= length:
        raise DataError(f"the text has {len(ids)} characters, fewer than a sequence of {length} and its "
                        f"target")
    return ids.unfold(0, length, 1)[:-1].contiguous(), ids[length:].clone()


def train_size(n: int, fraction: float) -> int:
    """The first round(fraction x n) sequences train (in text order, no shuffle), the rest test."""
    return int(round(fraction * n))


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """The seed's p_i^(1/T) / sum_j p_j^(1/T) of the softmax p, in float64 log space (p^50 underflows
    float32 at T = 0.02): softmax(log p / T)."""
    return F.softmax(F.log_softmax(logits.double(), -1) / temperature, -1)


@torch.no_grad()
def generate(model: torch.nn.Module, prime: list[int], length: int, temperature: float, n_symbols: int,
             seed: int) -> list[int]:
    """`length` symbols drawn one by one after `prime`, each from the tempered softmax of the model
    on the last `len(prime)` symbols (one-hot), with a generator seeded by `seed`: the same seed gives
    the same text."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    window, out = list(prime), []
    for _ in range(length):
        x = F.one_hot(torch.tensor([window]), n_symbols).float()
        probs = tempered(model(x)[0], temperature)
        symbol = int(torch.multinomial(probs, 1, generator=generator))
        out.append(symbol)
        window = window[1:] + [symbol]
    return out


def words(text: str) -> list[str]:
    return WORD.findall(text)


def loop_period(text: str, window: int = 100, longest: int = 200) -> int | None:
    """The smallest p such that the last `window` characters repeat the `window` before them shifted by p
    (the text has fallen into a loop of p characters), or None."""
    for p in range(1, longest + 1):
        if len(text) >= window + p and text[-window:] == text[-window - p:-p]:
            return p
    return None


def text_facts(text: str, vocabulary: set[str]) -> dict:
    """What can be measured of a generated text: its words found in the corpus's vocabulary, its
    distinct symbols, whether it ends in a loop, the entropy of its characters."""
    found = words(text)
    counts = Counter(text)
    entropy = sum(c / len(text) * math.log2(len(text) / c) for c in counts.values()) if text else 0.0
    return {"words": len(found), "words_in_corpus": sum(w in vocabulary for w in found),
            "words_in_corpus_pct": 100 * sum(w in vocabulary for w in found) / len(found) if found else 0.0,
            "distinct_words": len(set(found)), "symbols": len(counts), "loop_period": loop_period(text),
            "char_entropy_bits": entropy}
