"""The L2 norm of every parameter's gradient at every training step, before clipping: the
measurement behind the book's section 6.2 figures (gradients of an SRN exploding, then
vanishing, and per-parameter clipping keeping them alive).

Opt-in: a per-step hook costs a reduction per parameter every step and turns CUDA graphs
off. Norms stay on the device and are read back once per evaluation.

Example:
    >>> from memorybench.config import protocol_config
    >>> from memorybench.engine.loop import train_pack
    >>> log = GradientNorms()
    >>> config = protocol_config("nndl", cell="srn", seq_len=5, steps=4, eval_interval=2, device="cpu")
    >>> _ = train_pack([config], hooks=[log])
    >>> table = log.table()
    >>> len(table), sorted(table["parameter"].unique())[:2], int(table["step"].max())  # 4 steps x 7 parameters
    (28, ['embedding.weight', 'head.bias'], 4)
"""

from __future__ import annotations

import pandas as pd
import torch

from memorybench.engine.loop import Hook


class GradientNorms(Hook):
    """Collects, for every step, replica and parameter, the gradient's L2 norm before clipping."""

    per_step = True

    def __init__(self):
        self.names: list[str] = []
        self._pending: list[tuple[int, torch.Tensor]] = []  # (step, (E, P) norms on the device)
        self.rows: list[dict] = []

    def on_step(self, step: int, replicas) -> None:
        grads = replicas.named_replica_grads()  # name -> (E, ...)
        self.names = list(grads)
        norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads.values()], dim=1)  # (E, P)
        self._pending.append((step, norms.detach().clone()))

    def on_eval(self, step: int, replicas, records) -> None:
        for logged_step, norms in self._pending:
            for replica, row in enumerate(norms.tolist()):  # one host sync per logged step, at evaluation time only
                self.rows += [
                    dict(step=logged_step, replica=replica, parameter=name, grad_norm=value)
                    for name, value in zip(self.names, row)
                ]
        self._pending.clear()

    def table(self) -> pd.DataFrame:
        """One row per step, replica and parameter: step, replica, parameter, grad_norm."""
        return pd.DataFrame(self.rows, columns=["step", "replica", "parameter", "grad_norm"])
