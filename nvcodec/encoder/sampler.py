"""The clip's pixels as the encoder draws them: random training batches (ClipSampler) and a
fixed evaluation sample (PixelSample), both addressed by a flat pixel index."""

from __future__ import annotations

import numpy as np
import torch

from nvcodec.decoder.render import blended_codes
from nvcodec.encoder.loss_weights import pixel_weights
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.coordinates import frame_times, pixel_coordinates
from nvcodec.runtime import render_precision

SAMPLE_PIXELS = 1 << 16
BATCH_PIXELS = 1 << 14


def pixel_positions(
    canvas: Canvas, index: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(xy [N, 2], frame [N]) of flat pixel indices (frame, then row, then column), given the
    model x of each column and y of each row."""
    per_frame = canvas.width * canvas.height
    frame = index // per_frame
    within = index - frame * per_frame
    row = within // canvas.width
    column = within - row * canvas.width
    return torch.stack((x[column], y[row]), dim=-1), frame


def distinct_pixels(total: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """About `count` distinct sorted indices below `total`, drawn with memory in proportion to
    `count` rather than to the clip (duplicates of the draw are dropped)."""
    if total <= 4 * count:
        return torch.randperm(total, generator=generator)[:count].sort().values
    return torch.randint(total, (count,), generator=generator).unique()


class ClipSampler:
    """Random pixel batches over the whole clip, with coordinates, targets and loss weights.

    The clip stays uint8 and the weights float16 on the device; a batch gathers only what it
    needs, so memory does not grow with float copies of the video.
    """

    def __init__(self, frames_u8: np.ndarray, canvas: Canvas, device: torch.device) -> None:
        self.canvas = canvas
        self.pixels_per_frame = canvas.width * canvas.height
        self.num_pixels = self.pixels_per_frame * canvas.num_frames
        self.rgb = torch.as_tensor(frames_u8).reshape(-1, 3).to(device)
        self.weight = pixel_weights(frames_u8, device).reshape(-1)
        x, y = pixel_coordinates(canvas, canvas.width, canvas.height)
        self.x, self.y = x.to(device), y.to(device)
        self.times = frame_times(canvas, torch.arange(canvas.num_frames)).to(device)

    def batch(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(xy [N, 2], frame index [N], target rgb [N, 3] in [0, 1], weight [N])."""
        device = self.rgb.device
        index = torch.randint(self.num_pixels, (size,), generator=generator, device=device)
        xy, frame = pixel_positions(self.canvas, index, self.x, self.y)
        return xy, frame, self.rgb[index].float() / 255.0, self.weight[index].float()


class PixelSample:
    """A fixed random sample of the clip's pixels, to compare models cheaply at any size."""

    def __init__(
        self, canvas: Canvas, frames_u8: np.ndarray, count: int = SAMPLE_PIXELS, seed: int = 0
    ) -> None:
        self.canvas = canvas
        total = canvas.width * canvas.height * canvas.num_frames
        index = distinct_pixels(total, count, torch.Generator().manual_seed(seed))
        x, y = pixel_coordinates(canvas, canvas.width, canvas.height)
        self.xy, self.frame_index = pixel_positions(canvas, index, x, y)
        flat = np.asarray(frames_u8).reshape(-1, 3)
        self.target_u8 = flat[index.numpy()]
        self.times = frame_times(canvas, torch.arange(canvas.num_frames))

    def psnr(self, model: CoordFlow) -> float:
        """PSNR of the model's uint8 pixels against the clip's, as a render would give them."""
        return psnr(self.target_u8, self.codes(model))

    def absolute_error(self, model: CoordFlow) -> float:
        """Mean over the pixels of the colour's absolute error summed over the channels, in
        [0, 1] units: the L1 part of the fitting loss (eq. 5, unweighted)."""
        error = self.codes(model).astype(np.float64) - self.target_u8
        return float(np.abs(error).sum(-1).mean() / 255.0)

    @torch.no_grad()
    def codes(self, model: CoordFlow) -> np.ndarray:
        """The model's uint8 pixels of the sample [N, 3], as a render would give them."""
        device = next(model.parameters()).device
        dtype = render_precision(device)
        times = self.times.to(device)
        pieces = []
        for start in range(0, len(self.xy), BATCH_PIXELS):
            stop = start + BATCH_PIXELS
            xy, frame_index = self.xy[start:stop], self.frame_index[start:stop]
            raw = model.layer_outputs(xy.to(device), frame_index.to(device), times, dtype)
            pieces.append(blended_codes(raw).cpu().numpy())
        return np.concatenate(pieces)
