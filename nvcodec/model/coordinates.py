"""The coordinate convention of a fitted model: pixel centres in model units over a canvas, and
model time of (possibly fractional) source frame numbers (spec/cfv.md, section 8)."""

from __future__ import annotations

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
