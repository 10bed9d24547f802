"""The fitting loss of the paper's eqs. (5)-(6): a weighted L1 + L2 on the blended colour, plus
each layer's own error weighted by its alpha."""

from __future__ import annotations

import torch

from nvcodec.model.coordflow import blend


def combined_loss(
    rgb: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, l2_weight: float
) -> torch.Tensor:
    """Per-pixel w (|d|_1 + lambda |d|^2) over the channels (eq. 5), not yet averaged."""
    delta = rgb - target
    return weight * (delta.abs().sum(-1) + l2_weight * delta.square().sum(-1))


def coordflow_loss(
    raw: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    l2_weight: float,
    layer_loss_weight: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """L = L_combined + gamma L_layer (eqs. 5-6), gamma = `layer_loss_weight`; also returns the
    blended RGB's squared error."""
    rgb, layer_rgb, alphas = blend(raw)
    loss = combined_loss(rgb, target, weight, l2_weight).mean()
    if layer_loss_weight and raw.shape[0] > 1:
        per_layer = combined_loss(layer_rgb, target, weight, l2_weight)
        loss = loss + layer_loss_weight * (alphas * per_layer).sum(0).mean()
    return loss, (rgb.detach().clamp(0, 1) - target).square().mean()
