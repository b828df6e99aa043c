"""The captioning chapter's data: the kept vocabulary, the padded and masked caption tensors, BLEU.

Captions are lower-cased, split on whitespace and wrapped in `<start>` ... `<end>`; words outside
the kept vocabulary are dropped (seed: «on ne conservera dans les séquences d'entrée et de sortie
que les mots de la légende présents dans le dictionnaire réduit»). A caption of k kept words gives
k + 1 steps: the input is `<start>` w1 ... wk, the target w1 ... wk `<end>`. Sequences are padded
(and masked) to the longest training caption's steps; test captions keep that length (seed: «même
dimension pour les deux»), longer ones cut.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch

START, END = "<start>", "<end>"
BLEU_WEIGHTS = ((1.0,), (0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25))  # BLEU-1 .. BLEU-4


def tokens(caption: str) -> list[str]:
    """A caption's words as the course reads them: lower-cased, split on whitespace."""
    return caption.lower().split()


def word_counts(captions: list[list[str]]) -> Counter:
    """Occurrences of each word in the captions, `<start>` and `<end>` once per caption."""
    counts = Counter(word for image in captions for caption in image for word in tokens(caption))
    n = sum(len(image) for image in captions)
    counts[START] += n
    counts[END] += n
    return counts


def kept_vocabulary(counts: Counter, known: list[str], size: int) -> list[str]:
    """The `size` most frequent words that have a vector (`known`: the embedding file's words, in its
    order, which breaks ties), `<start>` and `<end>` among them."""
    candidates = [w for w in known if counts.get(w, 0) > 0]
    ranked = sorted(range(len(candidates)), key=lambda i: (-counts[candidates[i]], i))
    return [candidates[i] for i in ranked[:size]]


@dataclass
class Encoded:
    """Caption tensors: `words` (input ids) and `targets` [N, L], `mask` [N, L] (True: a real step),
    `image` [N] (the row of the caption's image in its split), `steps` [N] before padding or cutting."""

    words: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    image: torch.Tensor
    steps: torch.Tensor

    @property
    def length(self) -> int:
        return self.words.shape[1]


def encode(captions: list[list[str]], vocabulary: list[str], length: int | None = None) -> Encoded:
    """Every caption of every image as padded input and target ids; `length` None: the longest."""
    index = {w: i for i, w in enumerate(vocabulary)}
    sequences, images = [], []
    for row, image in enumerate(captions):
        for caption in image:
            kept = [index[w] for w in tokens(caption) if w in index]
            sequences.append([index[START], *kept, index[END]])
            images.append(row)
    steps = torch.tensor([len(s) - 1 for s in sequences])
    length = int(steps.max()) if length is None else length
    words = torch.zeros(len(sequences), length, dtype=torch.long)
    targets = torch.zeros(len(sequences), length, dtype=torch.long)
    for i, s in enumerate(sequences):
        n = min(len(s) - 1, length)
        words[i, :n] = torch.tensor(s[:n])
        targets[i, :n] = torch.tensor(s[1:n + 1])
    mask = torch.arange(length)[None] < steps.clamp(max=length)[:, None]
    return Encoded(words, targets, mask, torch.tensor(images), steps)


def bleu(hypotheses: list[list[str]], references: list[list[list[str]]]) -> list[float]:
    """NLTK's `corpus_bleu` (as the course), cumulative BLEU-1 to BLEU-4, no smoothing."""
    from nltk.translate.bleu_score import corpus_bleu

    return [float(corpus_bleu(references, hypotheses, weights=w)) for w in BLEU_WEIGHTS]
