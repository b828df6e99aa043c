"""Models of chapter `sequences` (seed 002 TP 4): Keras' SimpleRNN, and the character-level model.

PyTorch's `nn.RNN` has two bias vectors (`b_ih` and `b_hh`, redundant: only their sum matters);
Keras' SimpleRNN has one. `SimpleRNN` is Keras' layer, so that the parameter counts are the
course's (60 symbols: 60 x 128 + 128 x 128 + 128 = 24,192, where `nn.RNN` would have 24,320), with
Keras' initialisation (Glorot-uniform input weights, orthogonal recurrent weights, zero bias) and
its masking (a masked step keeps the previous state and repeats the previous output).
"""

from __future__ import annotations

import torch
from torch import nn

from reprolab.models import register


class SimpleRNN(nn.Module):
    """Keras' SimpleRNN: h_t = tanh(W x_t + U h_(t-1) + b), one bias vector.

    `forward(x [N, T, input], h0 [N, hidden] or None, mask [N, T] or None)` returns every step's
    state [N, T, hidden] (`return_sequences`) or the last one [N, hidden].
    """

    def __init__(self, input_size: int, hidden_size: int, return_sequences: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.return_sequences = input_size, hidden_size, return_sequences
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight_ih)
        nn.init.orthogonal_(self.weight_hh)
        nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, return_sequences={self.return_sequences}"

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        n, steps, _ = x.shape
        projected = torch.addmm(self.bias, x.reshape(n * steps, -1), self.weight_ih.t()).view(n, steps, -1)
        h = x.new_zeros(n, self.hidden_size) if h0 is None else h0
        states = []
        for t in range(steps):
            new = torch.tanh(torch.addmm(projected[:, t], h, self.weight_hh.t()))
            h = new if mask is None else torch.where(mask[:, t, None], new, h)
            states.append(h)
        return torch.stack(states, 1) if self.return_sequences else h


class CharRNN(nn.Module):
    """One-hot characters [N, T, symbols] -> SimpleRNN (last state) -> logits of the next character."""

    def __init__(self, n_symbols: int, hidden: int):
        super().__init__()
        self.rnn = SimpleRNN(n_symbols, hidden)
        self.head = nn.Linear(hidden, n_symbols)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x.float()))


@register("char_rnn")
def char_rnn(n_symbols: int = 60, hidden: int = 128) -> nn.Module:
    """The course's character-level SimpleRNN. Keras' SimpleRNN(`hidden`, tanh, last state only) on
    one-hot characters, then a fully connected layer to the `n_symbols` of the alphabet (the softmax
    is in the loss)."""
    return CharRNN(n_symbols, hidden)


def keras_rnn_parameters(inputs: int, hidden: int) -> int:
    """Parameters of Keras' SimpleRNN: input weights, recurrent weights, one bias."""
    return inputs * hidden + hidden * hidden + hidden


def torch_rnn_parameters(inputs: int, hidden: int) -> int:
    """Parameters of PyTorch's `nn.RNN` (one layer): the same, with a second bias vector."""
    return keras_rnn_parameters(inputs, hidden) + hidden
