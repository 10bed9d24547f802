"""Muon for stacked weight matrices: momentum, then each matrix's update orthogonalised.

`torch.optim.Muon` takes 2-D parameters only; CoordFlow's weights are stacked over the layers
([layers, out, in]), so here every matrix of the stack is orthogonalised at once, by batched
Newton-Schulz iterations. The step is scaled to the RMS of an AdamW step (0.2 sqrt(max(out,
in)) times the learning rate), so that a learning rate tuned for AdamW carries over.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

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
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(param)
                buffer = state["momentum_buffer"]
                buffer.mul_(momentum).add_(param.grad)
                nesterov = param.grad.add(buffer, alpha=momentum)
                scale = ADAMW_RMS * max(param.shape[-2:]) ** 0.5
                if group["weight_decay"]:
                    param.mul_(1.0 - lr * group["weight_decay"])
                param.add_(orthogonalised(nesterov.float()).to(param.dtype), alpha=-lr * scale)
