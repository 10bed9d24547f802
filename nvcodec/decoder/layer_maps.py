"""The layers one by one: a layer alone, the others without it, and the softmax alpha maps in
colour (the paper's Figures 2 and 6)."""

from __future__ import annotations

import numpy as np
import torch

from nvcodec.decoder.render import render_raw
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, blend

PALETTE = (
    torch.tensor(
        [
            (230, 25, 75),  # red
            (60, 180, 75),  # green
            (0, 130, 200),  # blue
            (255, 225, 25),  # yellow
            (245, 130, 48),  # orange
            (145, 30, 180),  # purple
            (70, 240, 240),  # cyan
            (240, 50, 230),  # magenta
        ],
        dtype=torch.float32,
    )
    / 255.0
)
"""One distinct colour per layer, as many as a .cfv file may hold (8)."""


def blend_layers(raw: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """RGB [N, 3] of a subset of the raw layer outputs [layers, N, 4], their alphas
    renormalised by a softmax over that subset only; one layer gives its own RGB."""
    return blend(raw[layers])[0]


def alpha_colours(weights: torch.Tensor) -> torch.Tensor:
    """Softmax weights [layers, N] to colours [N, 3]: sum_k alpha_k palette_k."""
    return weights.transpose(0, 1) @ PALETTE[: len(weights)].to(weights.device)


def alpha_map(raw: torch.Tensor) -> torch.Tensor:
    """The colour-coded alpha map [N, 3] of raw layer outputs [layers, N, 4]."""
    return alpha_colours(blend(raw)[2])


def mean_alpha(
    model: CoordFlow, canvas: Canvas, max_frames: int = 16, side: int = 32
) -> np.ndarray:
    """Each layer's softmax weight averaged over a coarse raster (`side` pixels along the longer
    side) of up to `max_frames` frames spread over the clip: [layers]."""
    scale = side / max(canvas.width, canvas.height)
    width = max(1, round(canvas.width * scale))
    height = max(1, round(canvas.height * scale))
    count = min(max_frames, canvas.num_frames)
    frames = torch.linspace(0, canvas.num_frames - 1, count, dtype=torch.float64)
    total = torch.zeros(model.config.num_layers, dtype=torch.float64)
    for raw in render_raw(model, canvas, width, height, frames):
        total += blend(raw)[2].mean(dim=1).double().cpu()
    return (total / count).numpy()


def dominant_layer(model: CoordFlow, canvas: Canvas) -> int:
    """The layer with the largest mean alpha: the one that covers most of the clip."""
    return int(np.argmax(mean_alpha(model, canvas)))
