"""Rate control: how coarsely to quantize a fitted model, and how large a model a bit budget buys.

The int8 range is more than a fitted colour net needs: with the paper's step (max|w| / 127 per
channel) the codes cost about 7.6 bits each, yet the picture barely changes at a step four
times coarser, which costs two bits less. The encoder therefore tries ever coarser steps and
keeps the coarsest whose PSNR cost, measured on a sample of the clip's pixels, stays within
`MAX_COST_DB`. The decoder does not care: the file holds int8 codes and their scales either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nvcodec.bitstream import quantized_model
from nvcodec.model import CoordFlow, blend
from nvcodec.quantize import QMAX
from nvcodec.render import Canvas, frame_times, pixel_coordinates, psnr, to_uint8

QMAX_LEVELS = (127, 90, 63, 45, 31, 22, 15)
"""Candidate largest codes, half a bit apart."""
MAX_COST_DB = 0.1
SAMPLE_PIXELS = 1 << 16
BATCH_PIXELS = 1 << 14
BITS_PER_WEIGHT = 6.0
"""Typical file bits per parameter (container included), to size a model for a bpp target."""
BPP_TOLERANCE = 0.1


@dataclass(frozen=True)
class QuantChoice:
    qmax: int
    psnr_float: float
    psnr_quantized: float

    @property
    def cost_db(self) -> float:
        return self.psnr_float - self.psnr_quantized


class PixelSample:
    """A fixed random sample of the clip's pixels, to compare models cheaply at any size."""

    def __init__(
        self, canvas: Canvas, frames_u8: np.ndarray, count: int = SAMPLE_PIXELS, seed: int = 0
    ) -> None:
        self.canvas = canvas
        per_frame = canvas.width * canvas.height
        total = per_frame * canvas.num_frames
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(total, generator=generator)[:count].sort().values
        self.frame_index = index // per_frame
        row, column = (index % per_frame) // canvas.width, index % canvas.width
        x, y = pixel_coordinates(canvas, canvas.width, canvas.height)
        self.xy = torch.stack((x[column], y[row]), dim=-1)
        flat = np.asarray(frames_u8).reshape(-1, 3)
        self.target_u8 = flat[index.numpy()]
        self.times = frame_times(canvas, torch.arange(canvas.num_frames))

    @torch.no_grad()
    def psnr(self, model: CoordFlow) -> float:
        """PSNR of the model's uint8 pixels against the clip's, as a render would give them."""
        device = next(model.parameters()).device
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
        terms = model.frame_terms(self.times.to(device))
        pieces = []
        for start in range(0, len(self.xy), BATCH_PIXELS):
            stop = start + BATCH_PIXELS
            with autocast:
                raw = model.layer_outputs(
                    self.xy[start:stop].to(device), self.frame_index[start:stop].to(device), terms
                )
            pieces.append(to_uint8(blend(raw.float())[0]))
        return psnr(self.target_u8, np.concatenate(pieces))


def choose_qmax(
    model: CoordFlow,
    canvas: Canvas,
    frames_u8: np.ndarray,
    max_cost_db: float = MAX_COST_DB,
) -> QuantChoice:
    """The coarsest quantization (smallest qmax) costing at most `max_cost_db` of PSNR.

    Steps are tried from fine to coarse and the search stops at the first one that costs too
    much; the finest step is kept even if it already does.
    """
    sample = PixelSample(canvas, frames_u8)
    reference = sample.psnr(model)
    choice = QuantChoice(QMAX, reference, sample.psnr(quantized_model(model, QMAX)))
    for qmax in QMAX_LEVELS[1:]:
        value = sample.psnr(quantized_model(model, qmax))
        if reference - value > max_cost_db:
            break
        choice = QuantChoice(qmax, reference, value)
    return choice


def params_for_bpp(
    bpp: float, width: int, height: int, num_frames: int, bits_per_weight: float = BITS_PER_WEIGHT
) -> int:
    """The parameter count whose file should come to `bpp` bits per pixel."""
    return int(bpp * width * height * num_frames / bits_per_weight)


def bpp_within_tolerance(actual: float, target: float, tolerance: float = BPP_TOLERANCE) -> bool:
    return abs(actual - target) <= tolerance * target
