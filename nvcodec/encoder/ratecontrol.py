"""Rate control: how coarsely to quantize a fitted model, and how large a model a bit budget buys.

The int8 range is more than a fitted model needs, and its linear maps differ widely in how much
a coarser step hurts. The encoder therefore chooses a step per linear map, greedily: each round
makes one map's step one level coarser, the map that saves the most bits per dB lost (PSNR
measured on a sample of the clip's pixels), as long as that move costs at most
`MAX_DB_PER_BIT` dB per bit per parameter saved.

The limit is the codec's own exchange rate: the bits saved could instead buy a larger model, and
the PSNR a larger model gains per bit per parameter sets the price. The costs measured here are
of plain quantization; the encoder then quantizes with compensation (nvcodec.encoder.compensate),
which recovers much of them, so the limit is set above that exchange rate. A grid model's limit
is per bit per pixel instead, and comes from its fit's rate weight (`grid_db_per_bpp`). The
decoder does not care: the file holds int8 codes and their scales either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nvcodec.bitstream.codec import quantized_model
from nvcodec.bitstream.entropy import estimated_bits
from nvcodec.bitstream.quantize import quantize_per_channel
from nvcodec.encoder.sampler import PixelSample
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, count_parameters

QMAX_LEVELS = (127, 90, 63, 45, 31, 22, 15)
"""Candidate largest codes, half a bit apart."""
MAX_DB_PER_BIT = 0.75
BITS_PER_WEIGHT = 6.0
"""Typical file bits per parameter (container included), to size a model for a bpp target."""
BPP_TOLERANCE = 0.1


@dataclass(frozen=True)
class QuantChoice:
    """The largest weight code of each linear map (`CoordFlow.linear_weights` order) and what
    it costs."""

    qmax: tuple[int, ...]
    psnr_float: float
    psnr_finest: float
    """At qmax 127 everywhere, where the choice starts."""
    psnr_quantized: float
    saved_bits_per_parameter: float
    """Per pixel instead when chosen `per_pixel`."""


def choose_qmax(
    model: CoordFlow,
    canvas: Canvas,
    frames_u8: np.ndarray,
    max_db_per_bit: float = MAX_DB_PER_BIT,
    per_pixel: bool = False,
    sample: PixelSample | None = None,
) -> QuantChoice:
    """Per linear map, steps coarsened while a move costs at most `max_db_per_bit` dB per bit
    per parameter saved (per pixel of the clip with `per_pixel`, a grid model's measure: its
    parameters are mostly latents the weights' steps do not touch), measured on `sample` (the
    clip's default PixelSample when not given).

    Starts from the finest step everywhere and coarsens one map a level at a time, always the
    move saving the most bits per dB lost, until the best move costs more than the limit.
    """
    sample = sample or PixelSample(canvas, frames_u8)
    reference = sample.psnr(model)
    pixels = canvas.width * canvas.height * canvas.num_frames
    unit = pixels if per_pixel else count_parameters(model)
    bits = _map_bits(model)
    levels = [0] * len(bits)
    finest = current = sample.psnr(quantized_model(model, _qmaxes(levels)))
    saved_bits = 0.0
    while True:
        best: tuple[float, int, float, float] | None = None
        for index, level in enumerate(levels):
            if level + 1 == len(QMAX_LEVELS):
                continue
            trial = levels.copy()
            trial[index] += 1
            value = sample.psnr(quantized_model(model, _qmaxes(trial)))
            saved = (bits[index][level] - bits[index][level + 1]) / unit
            # A move that loses nothing (or gains, by luck of rounding) comes first.
            merit = saved / max(current - value, 1e-3)
            if best is None or merit > best[0]:
                best = (merit, index, value, saved)
        if best is None or current - best[2] > max_db_per_bit * best[3]:
            return QuantChoice(_qmaxes(levels), reference, finest, current, saved_bits)
        _, index, current, saved = best
        levels[index] += 1
        saved_bits += saved


def grid_db_per_bpp(rate_lambda: float, absolute_error: float) -> float:
    """A grid model's exchange rate, in dB per bit per pixel saved, as its fit set it.

    The fit stops where a bit per pixel more would lower its loss, mostly the colour's
    absolute error summed over the channels (`PixelSample.absolute_error`), by `rate_lambda`.
    A relative change dL / L of an absolute error is a change of 20 / ln 10 dL / L dB of PSNR,
    so the weights' steps are priced as the latents' were.
    """
    return 20.0 / math.log(10.0) * rate_lambda / max(absolute_error, 1e-6)


def _qmaxes(levels: list[int]) -> tuple[int, ...]:
    return tuple(QMAX_LEVELS[level] for level in levels)


def _map_bits(model: CoordFlow) -> list[list[float]]:
    """Coded bits of each linear map's weights (all layers) at each of QMAX_LEVELS."""
    bits = []
    for weight in model.linear_weights():
        values = weight.detach().float().cpu().numpy()
        bits.append(
            [
                sum(estimated_bits(quantize_per_channel(w, 0, qmax)[0]) for w in values)
                for qmax in QMAX_LEVELS
            ]
        )
    return bits


def params_for_bpp(
    bpp: float, width: int, height: int, num_frames: int, bits_per_weight: float = BITS_PER_WEIGHT
) -> int:
    """The parameter count whose file should come to `bpp` bits per pixel."""
    return int(bpp * width * height * num_frames / bits_per_weight)


def bpp_within_tolerance(actual: float, target: float, tolerance: float = BPP_TOLERANCE) -> bool:
    return abs(actual - target) <= tolerance * target
