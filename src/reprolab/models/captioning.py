"""Models of chapter `captioning` (seed 002 TP 5): show and tell, simplified as the course does.

At every step the network reads the image's embedding (VGG16 features reduced by PCA) beside
the current word's vector (GloVe 100-d + two dims for `<start>` and `<end>`, fixed, not trained),
d = 100 + 102 = 202; a SimpleRNN (Keras', one bias) returns its state at every step and a fully
connected layer scores the next word over the kept vocabulary. Padded steps are masked.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.models import register
from reprolab.models.sequences import SimpleRNN


class ShowAndTell(nn.Module):
    """{"image" [N, D_img], "words" [N, L] ids, "mask" [N, L]} -> logits [N, L, vocabulary]."""

    def __init__(self, vocabulary: int, image_dim: int, word_dim: int, hidden: int):
        super().__init__()
        self.register_buffer("word_vectors", torch.zeros(vocabulary, word_dim))  # fixed: not trained
        self.rnn = SimpleRNN(image_dim + word_dim, hidden, return_sequences=True)
        self.head = nn.Linear(hidden, vocabulary)

    def inputs(self, image: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """[image | word vector] at every step: [N, L, image_dim + word_dim]."""
        vectors = self.word_vectors[words.long()]
        return torch.cat([image.float()[:, None].expand(-1, vectors.shape[1], -1), vectors], -1)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        states = self.rnn(self.inputs(x["image"], x["words"]), mask=x["mask"].bool())
        return self.head(states)


@register("show_and_tell")
def show_and_tell(vocabulary: int = 1000, image_dim: int = 100, word_dim: int = 102,
                  hidden: int = 100) -> nn.Module:
    """The course's simplified show and tell. At every step [image PCA | word vector] -> Keras'
    SimpleRNN(`hidden`, one output per step) -> fully connected to the `vocabulary` kept words (the
    softmax is in the loss); the word vectors are fixed."""
    return ShowAndTell(vocabulary, image_dim, word_dim, hidden)


@torch.no_grad()
def decode(model: ShowAndTell, images: torch.Tensor, start: int, end: int, steps: int,
           temperature: float | None = None, generator: torch.Generator | None = None) -> list[list[int]]:
    """Captions of `images` [N, D_img], as word ids without `<start>` and `<end>`: from [image |
    `<start>`], each predicted word's vector is fed back, until `<end>` or `steps` words. Greedy
    (argmax) without `temperature`; else each word is drawn from softmax(logits / temperature),
    in float64, with `generator`."""
    model.eval()
    n = len(images)
    word = torch.full((n, 1), start, dtype=torch.long, device=images.device)
    state, out = None, []
    for _ in range(steps):
        h = model.rnn(model.inputs(images, word), state)[:, -1]
        logits = model.head(h).double()
        if temperature is None:
            word = logits.argmax(1, keepdim=True)
        else:
            probs = F.softmax(logits / temperature, dim=1)
            word = torch.multinomial(probs.cpu(), 1, generator=generator).to(images.device)
        out.append(word[:, 0])
        state = h
    ids = torch.stack(out, 1).tolist()
    return [row[:row.index(end)] if end in row else row for row in ids]
