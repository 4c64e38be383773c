"""Sweep axes beyond cell, length and seed: the learning rate, the initialisation, the hidden
size and the LSTM's forget-gate bias — what a study of capacity against trainability varies.

    python run_all.py --lengths 10 20 30 --lr 1e-3 1e-2 --init book torch --forget-bias none 1

A *setting* is one (lr, init, hidden size) combination, the same list for every cell. The
forget-gate bias makes a *variant* of a cell with a forget gate (the LSTM with bias 1 is
compared with the LSTM; it is not counted as more tries for the LSTM): `none` keeps the
initialisation's own bias. With `match="params"`, each hidden size H given is the SRN's, and
every other cell gets the hidden size whose parameter count is closest to the SRN's at H
(today's LSTM at hidden 32 has 9,395 parameters against the SRN's 3,059); with `match="state"`,
the hidden size whose state carries as many numbers as the SRN's H (the LSTM's (h, c) and the
LRU's complex units: H/2), what memory capacity is bounded by.

Example:
    >>> axes = SweepAxes(lr=(1e-3, 1e-2), forget_bias=(None, 1.0))
    >>> axes.overrides("srn")
    [{'lr': 0.001}, {'lr': 0.01}]
    >>> axes.overrides("lstm")
    [{'lr': 0.001}, {'lr': 0.001, 'forget_bias': 1.0}, {'lr': 0.01}, {'lr': 0.01, 'forget_bias': 1.0}]
    >>> [SweepAxes(match="params").overrides(c) for c in ("srn", "lstm", "gru")]
    [[{'hidden_size': 32}], [{'hidden_size': 13}], [{'hidden_size': 16}]]
    >>> [SweepAxes(match="state").overrides(c) for c in ("srn", "lstm", "lru")]
    [[{'hidden_size': 32}], [{'hidden_size': 16}], [{'hidden_size': 16}]]
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from itertools import product


MATCHES = ("params", "state")  # what --match equalises across cells
SETTING_AXES = ("lr", "init", "hidden_size")  # a setting; forget_bias makes a variant of the cell instead
DEFAULT_HIDDEN = 32  # RunConfig's, the book's


def parameter_count(
    cell: str,
    hidden_size: int,
    task: str = "nndl",
    embedding_size: int = 32,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """Parameters of the model of `cell` on `task` (embedding, recurrent layers, read-out), counted on the
    model itself, built on the meta device (shapes only: no memory, nothing drawn).

    >>> parameter_count("srn", 32), parameter_count("lstm", 32), parameter_count("lstm", 32, num_layers=2, bidirectional=True)
    (3059, 9395, 43539)
    """
    import torch

    from memorybench.models import SequenceModel, count_parameters
    from memorybench.tasks import get_task

    with torch.device("meta"):  # the transparent layer: every cell has one, with the fused layer's parameters
        model = SequenceModel(
            get_task(task), cell, "transparent", embedding_size, hidden_size, num_layers, bidirectional
        )
    return count_parameters(model)


def matched_hidden(
    cell: str,
    srn_hidden: int,
    task: str = "nndl",
    embedding_size: int = 32,
    num_layers: int = 1,
    bidirectional: bool = False,
    match: str = "params",
) -> int:
    """The hidden size of `cell`, from 1 to 4 * `srn_hidden`, whose model has the parameter count (`match="params"`)
    or the state size (`match="state"`, `CellSpec.state_size`) closest to the SRN's at `srn_hidden` with the same
    task and layers (ties: the smaller). Either grows with the hidden size, so a bisection finds it from a few models.

    >>> matched_hidden("lstm", 32), matched_hidden("lstm", 32, num_layers=2), matched_hidden("gru", 32, num_layers=2)
    (13, 14, 17)
    >>> matched_hidden("lstm", 32, match="state"), matched_hidden("gru", 32, match="state")
    (16, 32)
    """
    from memorybench.cells import get_cell

    if match == "state":
        count = lambda name, h: get_cell(name).state_size(h)
    else:
        layout = dict(task=task, embedding_size=embedding_size, num_layers=num_layers, bidirectional=bidirectional)
        count = lambda name, h: parameter_count(name, h, **layout)
    target = count("srn", srn_hidden)
    sizes = range(1, 4 * srn_hidden + 1)
    first_above = bisect_left(sizes, target, key=lambda h: count(cell, h))  # the first count >= target
    return min(sizes[max(first_above - 1, 0) : first_above + 1], key=lambda h: (abs(count(cell, h) - target), h))


@dataclass(frozen=True)
class SweepAxes:
    """The values of each axis; an empty axis keeps the protocol's value (forget bias: None = the init's own)."""

    lr: tuple[float, ...] = ()
    init: tuple[str, ...] = ()
    hidden: tuple[int, ...] = ()
    forget_bias: tuple[float | None, ...] = ()
    match: str = ""  # "", or one of MATCHES: what the other cells' hidden sizes equalise with the SRN's

    def overrides(
        self, cell: str, task: str = "nndl", embedding_size: int = 32, num_layers: int = 1, bidirectional: bool = False
    ) -> list[dict]:
        """The config fields each run of `cell` overrides, one dict per setting and variant, in axis order;
        `task` and the model's layout (a protocol's `embedding_size`, `num_layers`, `bidirectional`) are
        what `match` counts parameters on."""
        from memorybench.cells import get_cell

        hiddens = self.hidden or ((DEFAULT_HIDDEN,) if self.match else (None,))
        biases = self.forget_bias if self.forget_bias and "f" in get_cell(cell).gates else (None,)
        out = []
        for lr, init, hidden, bias in product(self.lr or (None,), self.init or (None,), hiddens, biases):
            if hidden is not None and self.match:
                hidden = matched_hidden(cell, hidden, task, embedding_size, num_layers, bidirectional, self.match)
            values = dict(lr=lr, init=init, hidden_size=hidden, forget_bias=bias)
            override = {k: v for k, v in values.items() if v is not None}
            if override not in out:
                out.append(override)
        return out

    def size(self) -> int:
        """The most settings and variants any cell has (for the plan's size check)."""
        return max(len(self.lr), 1) * max(len(self.init), 1) * max(len(self.hidden), 1) * max(len(self.forget_bias), 1)
