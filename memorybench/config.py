"""Run configuration: one frozen dataclass, and the named protocols that fill it in.

Protocols:
- `nndl`: the book, faithfully. Its data, Adam lr 1e-3, batch 8, 19,000 steps (500
  epochs of 38 steps), dev every 100 steps and at the end, best-dev checkpoint,
  the book's initialisation, and batches in the book's file order (its loader does
  not shuffle, so every batch holds sequences of one or two operand pairs).
- `nndl-shuffled`: the same, with the training set reshuffled every epoch — the
  sound choice the book's loader skips. Everything else is identical.
- `stream`: the same model and budget on the streaming task: a fresh batch every
  step (no training set to memorise) and 1000-sequence dev and test sets, so
  accuracy is measured with less noise.
- `nndl-6.2`: the book's gradient-explosion experiment (section 6.2): its data, SGD
  lr 0.2, batch 64, the cross-entropy summed over the batch, 50 epochs (250 steps),
  dev every epoch; clipping is set per run (`memorybench.diagnostics.explosion`).

Example:
    >>> cfg = protocol_config("nndl", cell="lstm", seq_len=30, seed=1)
    >>> cfg.batch_size, cfg.steps, cfg.shuffle, cfg.run_id() == protocol_config("nndl", cell="lstm", seq_len=30, seed=1).run_id()
    (8, 19000, False, True)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields

from memorybench.checks import check_choice, check_int
from memorybench.registry import ADDED

OPTIMIZERS = ("adam", "sgd")
LOSS_REDUCTIONS = ("mean", "sum")  # over a batch's samples (and steps); the book's section 6.2 sums
QUICK = dict(steps=200, eval_interval=50)  # --quick: a smoke-test budget, not a measurement
# Fields added after results were first stored: at these values they are left out of
# run_id(), so a config that does not use them keeps the id it always had.
NEW_FIELD_DEFAULTS = {"loss_reduction": "mean", "num_layers": 1, "bidirectional": False, "softmax_before_loss": False}
CLIPS = ("none", "global", "per_param")  # per_param: each parameter's norm clipped alone, as the book does
AXES = (
    "lr",
    "init",
    "hidden_size",
    "forget_bias",
)  # fields a sweep varies besides cell, length and seed (sweep.settings)


@dataclass(frozen=True)
class RunConfig:
    cell: str = "lstm"
    seq_len: int = 10
    seed: int = 0
    protocol: str = "custom"  # the protocol this config came from, for the tables
    task: str = "nndl"
    task_params: dict = field(default_factory=dict)  # extra arguments of the task's make_data
    embedding_size: int = 32
    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    init: str = "book"
    forget_bias: float | None = None  # LSTM only; None = leave the initialisation alone
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 8
    steps: int = 19_000
    eval_interval: int = 100
    shuffle: bool = False
    clip: str = "none"
    clip_value: float = 5.0
    loss_reduction: str = "mean"  # over a batch: mean, or sum as in the book's section 6.2
    softmax_before_loss: bool = (
        False  # the seed posts' MNIST model: a softmax layer before the cross-entropy (which applies its own)
    )
    stop_on_perfect_dev: bool = True  # once dev accuracy is 1.0 no later checkpoint can win
    execution: str = "fused"
    device: str = "auto"  # auto | cpu | cuda | cuda:N; not part of run_id()

    def __post_init__(self):
        from memorybench.cells import (
            EXECUTIONS,
            get_cell,
        )  # torch: imported once a config is made, not with this module
        from memorybench.models import INITS
        from memorybench.tasks import get_task

        spec = get_cell(self.cell)
        task = get_task(self.task)
        # the definitions' versions above 1 join the run id (not fields: a stored config stays as it was written)
        versions = {"cell_version": spec.version, "task_version": task.version}
        object.__setattr__(self, "_versions", {name: v for name, v in versions.items() if v != 1})
        check_int("seq_len", self.seq_len, task.min_seq_len)
        check_values(self.to_dict())
        check_choice("init", self.init, INITS)
        check_choice("execution", self.execution, EXECUTIONS)
        if self.execution == "fused" and spec.fused is None:
            raise ValueError(
                f"execution='fused' is not allowed for cell {self.cell!r}: it has no fused kernel; use execution='transparent'"
            )
        if self.execution == "scan" and spec.scan is None:
            raise ValueError(
                f"execution='scan' is not allowed for cell {self.cell!r}: it has no scan over time; use execution='transparent'"
            )
        if self.forget_bias is not None and "f" not in spec.gates:
            raise ValueError(
                f"forget_bias={self.forget_bias!r} is not allowed for cell {self.cell!r}; it applies to cells with a forget gate (lstm)"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)

    def layer_options(self) -> dict:
        """The recurrent stack's shape, as `build_model` takes it."""
        return {"num_layers": self.num_layers, "bidirectional": self.bidirectional}

    def run_id(self) -> str:
        """A short hash of everything that changes the result (the device excluded; fields
        newer than the first stored results only when they differ from their default; the cell's and
        the task's definition versions only above 1, `CellSpec.version`, `TaskSpec.version`)."""
        unused = {k for k, default in NEW_FIELD_DEFAULTS.items() if getattr(self, k) == default}
        identity = {k: v for k, v in self.to_dict().items() if k != "device" and k not in unused}
        identity.update(self._versions)
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_values(values: dict) -> None:
    """The checks of a config's values that need no registry (types, ranges, the choices this module
    holds): what a stored run's config must pass to be read (`memorybench.storage.validate`); whether its
    cell and task exist, and what they allow, is asked where a model is built (`RunConfig`).

    >>> check_values({**config_defaults(), "hidden_size": "32"})
    Traceback (most recent call last):
    ...
    ValueError: hidden_size='32' is not allowed; it must be an integer >= 1
    """
    for name in ("cell", "protocol", "task", "init", "execution"):
        if not isinstance(values[name], str):
            raise ValueError(f"{name}={values[name]!r} is not allowed; it must be a name (a string)")
    check_int("seq_len", values["seq_len"], 1)
    check_int("seed", values["seed"], 0)
    for name in ("embedding_size", "hidden_size", "num_layers", "batch_size", "steps", "eval_interval"):
        check_int(name, values[name], 1)
    check_choice("optimizer", values["optimizer"], OPTIMIZERS)
    check_choice("clip", values["clip"], CLIPS)
    check_choice("loss_reduction", values["loss_reduction"], LOSS_REDUCTIONS)
    for name in ("bidirectional", "softmax_before_loss", "shuffle", "stop_on_perfect_dev"):
        if not isinstance(values[name], bool):
            raise ValueError(f"{name}={values[name]!r} is not allowed; it must be True or False")
    if not isinstance(values["task_params"], dict):
        raise ValueError(
            f"task_params={values['task_params']!r} is not allowed; it must be a mapping of parameter names to values"
        )
    for name in ("lr", "clip_value"):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}={value!r} is not allowed; it must be a finite number > 0")
    bias = values["forget_bias"]
    if bias is not None and (isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias)):
        raise ValueError(f"forget_bias={bias!r} is not allowed; it must be a finite number or None")
    check_device(values["device"])


def config_defaults() -> dict:
    """Every RunConfig field at its default, without building a config (which asks the registries).

    >>> config_defaults()["cell"], config_defaults()["task_params"]
    ('lstm', {})
    """
    return {f.name: f.default_factory() if f.default is MISSING else f.default for f in fields(RunConfig)}


def check_device(device: str) -> None:
    base, _, index = device.partition(":") if isinstance(device, str) else ("", "", "")
    if base not in ("auto", "cpu", "cuda") or (index and (base != "cuda" or not index.isdigit())):
        raise ValueError(f"device={device!r} is not allowed; choose auto, cpu, cuda or cuda:N")


_BOOK = dict(task="nndl", init="book", optimizer="adam", lr=1e-3, batch_size=8, steps=19_000, eval_interval=100)
PROTOCOLS = {
    "nndl": dict(_BOOK, shuffle=False),
    "nndl-shuffled": dict(_BOOK, shuffle=True),
    "stream": dict(_BOOK, task="stream"),
    # the book's section 6.2 (gradient explosion, memorybench.diagnostics.explosion): 50 epochs of 5 batches of 64
    "nndl-6.2": dict(
        _BOOK, optimizer="sgd", lr=0.2, batch_size=64, steps=250, eval_interval=5, loss_reduction="sum", shuffle=False
    ),
}
# The suite's other tasks: Adam lr 1e-3, batch 32 and torch's own initialisation, as the published RNN
# baselines of these tasks use (their exact settings were never published; anchors.md). The digit tasks
# walk their training set in epochs of 38 steps (1197 images / 32), reshuffled: 30 epochs, dev every epoch.
_SUITE = dict(init="torch", optimizer="adam", lr=1e-3, batch_size=32, eval_interval=250, shuffle=False)
PROTOCOLS.update(
    {
        "adding": dict(_SUITE, task="adding", steps=5000),
        "copy": dict(_SUITE, task="copy", steps=5000),
        "delayed_recall": dict(_SUITE, task="delayed_recall", steps=3000),
        # state tracking and selective recall (issue 25): fresh sequences every step, the copy task's budget
        "parity": dict(_SUITE, task="parity", steps=5000),
        "selective_copying": dict(_SUITE, task="selective_copying", steps=5000),
        "associative_recall": dict(_SUITE, task="associative_recall", steps=5000),
        "flip_flop": dict(
            _SUITE, task="flip_flop", steps=5000
        ),  # trained at p_ignore 0.8, the paper's (a task parameter)
        "digits_rows": dict(_SUITE, task="digits_rows", steps=1140, eval_interval=38, shuffle=True),
        "digits_pixels": dict(_SUITE, task="digits_pixels", steps=1140, eval_interval=38, shuffle=True),
        "mnist_rows": dict(
            _SUITE, task="mnist_rows", steps=51_570, eval_interval=1719, shuffle=True
        ),  # 30 epochs of 55,000 / 32
        # the seed posts' MNIST classifier, faithfully: a bidirectional LSTM (hidden 64) whose softmax layer feeds the
        # cross-entropy, which applies its own (so the loss is computed on probabilities; 98.15% after 30 epochs, one run)
        "mnist-seed": dict(
            _SUITE,
            task="mnist_rows",
            steps=51_570,
            eval_interval=1719,
            shuffle=True,
            hidden_size=64,
            bidirectional=True,
            softmax_before_loss=True,
        ),
        # the same model trained soundly: the cross-entropy on the logits
        "mnist-seed-sound": dict(
            _SUITE,
            task="mnist_rows",
            steps=51_570,
            eval_interval=1719,
            shuffle=True,
            hidden_size=64,
            bidirectional=True,
        ),
    }
)


def register_protocol(name: str, settings: dict, replace: bool = False) -> dict:
    """Add a training protocol: RunConfig field -> value, its `task` included (`memorybench run --protocol NAME`).
    A name is lowercase letters, digits, '-', '.' and '_'; a taken one only with `replace`.

    >>> _ = register_protocol("nndl-short", dict(PROTOCOLS["nndl"], steps=2000))
    >>> protocol_config("nndl-short", cell="gru", seq_len=5).steps
    2000
    >>> del PROTOCOLS["nndl-short"]
    """
    if not (isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name)):
        raise ValueError(f"protocol name {name!r} must be lowercase letters, digits, '-', '.' or '_', like 'my-task'")
    if name in PROTOCOLS and not replace:
        raise ValueError(f"protocol {name!r} is already registered; pass replace=True to replace it")
    unknown = set(settings) - {f.name for f in fields(RunConfig)}
    if unknown or "task" not in settings:
        raise ValueError(
            f"protocol {name!r}: {'needs a task' if not unknown else f'{sorted(unknown)[0]!r} is not a RunConfig field'}"
        )
    PROTOCOLS[name] = dict(settings)
    ADDED.append(("protocol", name))
    return PROTOCOLS[name]


def protocol_config(protocol: str, **overrides) -> RunConfig:
    """A RunConfig with the protocol's settings; `overrides` replace any field. A cell without a
    fused kernel runs as `memorybench.cells.default_execution` picks for the device unless told
    otherwise: through its scan over time on CUDA, step by step elsewhere."""
    from memorybench.cells import default_execution

    check_choice("protocol", protocol, tuple(PROTOCOLS))
    if "execution" not in overrides and "execution" not in PROTOCOLS[protocol]:
        overrides["execution"] = default_execution(
            overrides.get("cell", RunConfig.cell), overrides.get("device", RunConfig.device)
        )
    return RunConfig(**{**PROTOCOLS[protocol], "protocol": protocol, **overrides})
