"""Muon for stacked weight matrices: momentum, then each matrix's update orthogonalised.

`torch.optim.Muon` takes 2-D parameters only; CoordFlow's weights are stacked over the layers
([layers, out, in]), so here every matrix of the stack is orthogonalised at once, by batched
Newton-Schulz iterations. The step is scaled to the RMS of an AdamW step (0.2 sqrt(max(out,
in)) times the learning rate), so that a learning rate tuned for AdamW carries over.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch.nn.functional import pad

NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)
"""Coefficients of the quintic iteration that drives singular values towards 1."""
NEWTON_SCHULZ_STEPS = 5
ADAMW_RMS = 0.2


def orthogonalised(update: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """The nearest semi-orthogonal matrices (approximately) to each matrix of update [..., m, n]."""
    a, b, c = NEWTON_SCHULZ
    wide = update.shape[-2] <= update.shape[-1]
    x = update if wide else update.transpose(-2, -1)
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + eps)
    for _ in range(NEWTON_SCHULZ_STEPS):
        gram = x @ x.transpose(-2, -1)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x if wide else x.transpose(-2, -1)


class StackedMuon(torch.optim.Optimizer):
    """Muon (Nesterov momentum, orthogonalised updates, decoupled weight decay) for parameters
    of two or more dimensions, each a stack of matrices over its leading dimensions."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0.95,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        for group in self.param_groups:
            for param in group["params"]:
                if param.dim() < 2:
                    raise ValueError("StackedMuon updates matrices: give it no 1-D parameters")

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # noqa: ARG002 - the Optimizer signature
        """One step of every parameter with a gradient. The updates of all of them are
        orthogonalised together, each zero-padded to the largest rows and columns among them:
        padding does not change the iteration's result, and at these sizes one batched
        iteration costs a fraction of one per parameter."""
        chosen, updates = [], []
        for group in self.param_groups:
            params = [param for param in group["params"] if param.grad is not None]
            if not params:
                continue
            grads = [param.grad for param in params]
            buffers = [self._buffer(param) for param in params]
            torch._foreach_mul_(buffers, group["momentum"])
            torch._foreach_add_(buffers, grads)
            updates += torch._foreach_add(grads, buffers, alpha=group["momentum"])  # Nesterov
            chosen += [(param, group) for param in params]
        if not chosen:
            return
        params = [param for param, _ in chosen]
        rows = max(param.shape[-2] for param in params)
        columns = max(param.shape[-1] for param in params)
        padded = [
            pad(update.float(), (0, columns - update.shape[-1], 0, rows - update.shape[-2]))
            for update in updates
        ]
        counts = [math.prod(param.shape[:-2]) for param in params]
        stacked = orthogonalised(torch.cat([x.reshape(-1, rows, columns) for x in padded]))
        for (param, group), block in zip(chosen, stacked.split(counts), strict=True):
            out, fan_in = param.shape[-2:]
            step = block[:, :out, :fan_in].reshape(param.shape).to(param.dtype)
            lr = group["lr"]
            if group["weight_decay"]:
                param.mul_(1.0 - lr * group["weight_decay"])
            param.add_(step, alpha=-lr * ADAMW_RMS * max(out, fan_in) ** 0.5)

    def _buffer(self, param: torch.Tensor) -> torch.Tensor:
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(param)
        return state["momentum_buffer"]
