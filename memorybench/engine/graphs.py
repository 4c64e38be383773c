"""A training step replayed from CUDA graphs.

Each training step — forward, backward, gradient masking, clipping, optimizer — is
captured once per batch shape (and, where nothing clips, with and without measuring the
gradient norms) and replayed, which removes the kernel-launch overhead
that makes small RNNs slower on a GPU than on a CPU. Capturing needs warm-up steps;
they run on a snapshot that is rolled back, so they leave no trace in the results.
A torch or driver that cannot capture makes the step run eagerly, with a warning.
"""

from __future__ import annotations

import warnings

import torch

WARMUP_STEPS = 3  # eager steps before a capture (cuDNN/cuBLAS set-up, optimizer state), then rolled back


class GraphedStep:
    """Wraps an eager step `step(x, y, want_norm)` (see `memorybench.engine.loop.TrainStep`)."""

    def __init__(self, step):
        self.step, self.graphs = step, True
        self.captured: dict[tuple, tuple] = {}  # (batch shape, want_norm) -> (graph, static inputs, static targets)

    def _snapshot(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        step = self.step
        tensors = list(step.replicas.parameters()) + [step.loss_sum, step.grad_norm]
        tensors += [v for state in step.optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
        return [(t, t.detach().clone()) for t in tensors]

    def _capture(self, x: torch.Tensor, y: torch.Tensor, want_norm: bool) -> tuple:
        static_x, static_y = x.clone(), y.clone()
        optimizer = self.step.optimizer
        fresh_optimizer = not optimizer.state
        saved = self._snapshot()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.step(static_x, static_y, want_norm)
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():  # roll the warm-up back
            for tensor, value in saved:
                tensor.copy_(value)
            if fresh_optimizer:  # the warm-up created the state: make it a fresh optimizer's
                for state in optimizer.state.values():
                    for value in state.values():
                        if torch.is_tensor(value):
                            value.zero_()
        for p in self.step.replicas.parameters():
            p.grad = None  # this graph's backward allocates its own gradients
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.step(static_x, static_y, want_norm)
        return graph, static_x, static_y

    def __call__(self, x: torch.Tensor, y: torch.Tensor, want_norm: bool = True) -> None:
        if not self.graphs:
            return self.step(x, y, want_norm)
        # Gradient norms cost a pack one small kernel per replica and parameter (`layout.replica_norms`): a step that
        # does not clip measures them only when asked (an evaluation step), from a graph of its own
        want_norm = want_norm or self.step.config.clip != "none"
        key = (tuple(x.shape), want_norm)
        if key not in self.captured:
            try:
                self.captured[key] = self._capture(x, y, want_norm)
            except RuntimeError as exc:
                warnings.warn(f"CUDA graph capture failed ({exc}); training eagerly")
                self.graphs = False
                return self.step(x, y, want_norm)
        graph, static_x, static_y = self.captured[key]
        static_x.copy_(x, non_blocking=True)
        static_y.copy_(y, non_blocking=True)
        graph.replay()
