"""Sweep axes beyond cell, length and seed: the learning rate, the initialisation, the hidden
size and the LSTM's forget-gate bias — what a study of capacity against trainability varies.

    python run_all.py --lengths 10 20 30 --lr 1e-3 1e-2 --init book torch --forget-bias none 1

A *setting* is one (lr, init, hidden size) combination, the same list for every cell. The
forget-gate bias makes a *variant* of a cell with a forget gate (the LSTM with bias 1 is
compared with the LSTM; it is not counted as more tries for the LSTM): `none` keeps the
initialisation's own bias. With `match_params`, each hidden size H given is the SRN's, and
every other cell gets the hidden size whose parameter count is closest to the SRN's at H
(today's LSTM at hidden 32 has 9,395 parameters against the SRN's 3,059).

Example:
    >>> axes = SweepAxes(lr=(1e-3, 1e-2), forget_bias=(None, 1.0))
    >>> axes.overrides("srn")
    [{'lr': 0.001}, {'lr': 0.01}]
    >>> axes.overrides("lstm")
    [{'lr': 0.001}, {'lr': 0.001, 'forget_bias': 1.0}, {'lr': 0.01}, {'lr': 0.01, 'forget_bias': 1.0}]
    >>> [SweepAxes(match_params=True).overrides(c) for c in ("srn", "lstm", "gru")]
    [[{'hidden_size': 32}], [{'hidden_size': 13}], [{'hidden_size': 16}]]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

AXES = ("lr", "init", "hidden_size", "forget_bias")  # config fields a sweep varies besides cell, length and seed
SETTING_AXES = ("lr", "init", "hidden_size")  # a setting; forget_bias makes a variant of the cell instead
DEFAULT_HIDDEN = 32  # RunConfig's, the book's


def parameter_count(cell: str, hidden_size: int, task: str = "nndl", embedding_size: int = 32) -> int:
    """Parameters of a one-layer model of `cell` on `task` (embedding, recurrent layer, read-out).

    >>> parameter_count("srn", 32), parameter_count("lstm", 32)
    (3059, 9395)
    """
    from .cells import get_cell
    from .tasks import get_task

    spec, spec_task = get_cell(cell), get_task(task)
    embedded = spec_task.input_kind == "tokens"
    rnn_input = embedding_size if embedded else spec_task.input_size
    recurrent = sum(math.prod(shape) for shape in spec.shapes(rnn_input, hidden_size).values())
    return (spec_task.input_size * embedding_size if embedded else 0) + recurrent + (hidden_size + 1) * spec_task.output_size


def matched_hidden(cell: str, srn_hidden: int, task: str = "nndl", embedding_size: int = 32) -> int:
    """The hidden size of `cell` whose parameter count is closest to the SRN's at `srn_hidden` (ties: the smaller)."""
    target = parameter_count("srn", srn_hidden, task, embedding_size)
    return min(range(1, 4 * srn_hidden + 1), key=lambda h: (abs(parameter_count(cell, h, task, embedding_size) - target), h))


@dataclass(frozen=True)
class SweepAxes:
    """The values of each axis; an empty axis keeps the protocol's value (forget bias: None = the init's own)."""

    lr: tuple[float, ...] = ()
    init: tuple[str, ...] = ()
    hidden: tuple[int, ...] = ()
    forget_bias: tuple[float | None, ...] = ()
    match_params: bool = False

    def overrides(self, cell: str, task: str = "nndl") -> list[dict]:
        """The config fields each run of `cell` overrides, one dict per setting and variant, in axis order."""
        from .cells import get_cell

        hiddens = self.hidden or ((DEFAULT_HIDDEN,) if self.match_params else (None,))
        biases = self.forget_bias if self.forget_bias and "f" in get_cell(cell).gates else (None,)
        out = []
        for lr, init, hidden, bias in product(self.lr or (None,), self.init or (None,), hiddens, biases):
            if hidden is not None and self.match_params:
                hidden = matched_hidden(cell, hidden, task)
            values = dict(lr=lr, init=init, hidden_size=hidden, forget_bias=bias)
            override = {k: v for k, v in values.items() if v is not None}
            if override not in out:
                out.append(override)
        return out

    def size(self) -> int:
        """The most settings and variants any cell has (for the plan's size check)."""
        return max(len(self.lr), 1) * max(len(self.init), 1) * max(len(self.hidden), 1) * max(len(self.forget_bias), 1)
