"""The coordinate convention of a fitted model: pixel centres in model units over a canvas, and
model time of (possibly fractional) source frame numbers (spec/cfv.md, section 8)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import torch

from nvcodec.model.canvas import Canvas


def pixel_coordinates(
    canvas: Canvas, width: int, height: int, zoom: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """x of each column [width] and y of each row [height] at pixel centres of a width x height
    raster laid over the canvas, or over a window `zoom` times the canvas's extent."""
    extent_x, extent_y = (zoom * half for half in canvas.extent)
    x = (2.0 * (torch.arange(width, dtype=torch.float64) + 0.5) / width - 1.0) * extent_x
    y = (2.0 * (torch.arange(height, dtype=torch.float64) + 0.5) / height - 1.0) * extent_y
    return x.float(), y.float()


def frame_times(canvas: Canvas, source_frames: torch.Tensor) -> torch.Tensor:
    """Model time t = 2 k / T - 1 of (possibly fractional) source frame numbers k."""
    return (2.0 * source_frames.double() / canvas.num_frames - 1.0).float()


def resampled_frames(canvas: Canvas, fps: Fraction | float) -> torch.Tensor:
    """Source frame numbers of a new frame rate over the clip's duration (T / fps seconds)."""
    ratio = Fraction(canvas.fps) / Fraction(fps)
    count = -(-canvas.num_frames // ratio) if ratio else 0
    return torch.tensor([float(index * ratio) for index in range(int(count))], dtype=torch.float64)


def affine_points(
    matrices: torch.Tensor, scale: tuple[float, float] = (1.0, 1.0)
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Points xy [N, 2] through each layer's 2 x 3 matrix of `matrices` [layers, 2, 3], the
    results' x and y then times `scale`: a function of xy returning [layers, N, 2].

    One product covers every layer (xy by a 2 x 2-layers matrix): a product per layer of so
    few columns costs several times more per point.
    """
    layers = matrices.shape[0]
    scaled = matrices * matrices.new_tensor(scale)[:, None]
    weight = scaled[:, :, :2].permute(2, 0, 1).reshape(2, 2 * layers)
    bias = scaled[:, :, 2].reshape(2 * layers)

    def apply(xy: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bias, xy, weight).view(-1, layers, 2).transpose(0, 1).contiguous()

    return apply
