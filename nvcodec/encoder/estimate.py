"""What an encode will cost on this device, from a short measurement before fitting: the time of
a fitting step, of rendering a frame, and of the rate control's trials."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from nvcodec.decoder.render import default_render_batch, render
from nvcodec.encoder.compensate import SHARE_OF_FIT
from nvcodec.encoder.fit import FitConfig, default_batch_size, train_step
from nvcodec.encoder.latent_rate import LatentRate, noisy, round_latents
from nvcodec.encoder.ratecontrol import QMAX_LEVELS
from nvcodec.encoder.sampler import ClipSampler, PixelSample
from nvcodec.model.config import ModelConfig
from nvcodec.model.coordflow import CoordFlow
from nvcodec.runtime import flushed_denormals, resolve_precision

TIMED_STEPS = 3
STRIP_ROWS = 8
"""Fewest rows of the strip whose render stands in for a whole frame's."""
TIMED_SAMPLE = 4096


@dataclass(frozen=True)
class EncodeEstimate:
    """Seconds an encode of this clip spends in each phase (estimates, not promises)."""

    seconds_per_epoch: float
    render_seconds_per_frame: float
    rate_control_seconds: float
    frames: int
    compensation_cost: float = 1.0
    """A compensation step's time as a share of a fitting step's: under one for a grid model,
    whose latents are frozen by then and whose rate term is gone."""

    @property
    def measure_seconds(self) -> float:
        """The two full renders that measure the PSNR before and after quantization."""
        return 2.0 * self.frames * self.render_seconds_per_frame

    @property
    def overhead_seconds(self) -> float:
        """Everything outside the fitting loop and its compensation steps."""
        return self.measure_seconds + self.rate_control_seconds

    def total_seconds(self, fit_seconds: float) -> float:
        """The whole encode for `fit_seconds` of fitting (compensation included)."""
        return fit_seconds * (1.0 + self.compensation_share) + self.overhead_seconds

    def fit_seconds_within(self, budget: float, spent: float = 0.0) -> float:
        """The fitting time that keeps the whole encode within `budget` seconds when `spent`
        of them are gone; never below a tenth of the budget, so a short one still fits
        something."""
        left = budget - spent - self.overhead_seconds
        return max(0.1 * budget, left / (1.0 + self.compensation_share))

    @property
    def compensation_share(self) -> float:
        """Compensation's time as a share of the fit's."""
        return SHARE_OF_FIT * self.compensation_cost


def estimate_encode(
    sampler: ClipSampler, frames_u8: np.ndarray, config: ModelConfig, fit_config: FitConfig
) -> EncodeEstimate:
    """Time a few fitting steps, a strip of a rendered frame and a small rate-control trial on a
    fresh model of `config` (a fraction of a second for small models)."""
    device = sampler.rgb.device
    canvas = sampler.canvas
    model = CoordFlow(config).to(device)
    batch_size = fit_config.batch_size or default_batch_size(device, config)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-6)
    generator = torch.Generator(device=device).manual_seed(fit_config.seed)
    dtype = resolve_precision(fit_config.precision, device)
    rate = None
    if model.grids is not None:  # a grid step pays for the latents' rate as well
        rate = LatentRate(model.grids).to(device)
        model.grids.quantizer = noisy
    with flushed_denormals(device):

        def steps() -> None:  # a cycle of steps, one of them with the rate term
            for k in range(fit_config.rate_every):
                train_step(
                    model, optimiser, sampler, batch_size, generator, fit_config, dtype, rate, k
                )

        step = _best_seconds(steps, device) / fit_config.rate_every
        compensation_step = step
        if model.grids is not None:  # compensation trains with the latents rounded and frozen
            round_latents(model.grids)
            compensation_step = _best_seconds(
                lambda: train_step(
                    model, optimiser, sampler, batch_size, generator, fit_config, dtype
                ),
                device,
            )
    model.eval()
    # A strip of at least one rendering chunk, whose fixed costs a frame pays once per chunk.
    chunk_rows = math.ceil(default_render_batch(config, device) / canvas.width)
    rows = min(max(STRIP_ROWS, chunk_rows), canvas.height)
    first = torch.zeros(1, dtype=torch.float64)
    strip = _best_seconds(lambda: next(render(model, canvas, canvas.width, rows, first)), device)
    sample = PixelSample(canvas, frames_u8, TIMED_SAMPLE)
    trial = _best_seconds(lambda: sample.psnr(model), device) * (1 << 16) / TIMED_SAMPLE
    maps = len(model.linear_weights())
    # The greedy search tries every map's next level each round; fits end after a few moves
    # per map, about 2 maps^2 trials in all (the worst case is (levels - 1) maps^2).
    trials = min(2 * maps * maps, (len(QMAX_LEVELS) - 1) * maps * maps)
    return EncodeEstimate(
        seconds_per_epoch=step * sampler.num_pixels / batch_size,
        render_seconds_per_frame=strip * canvas.height / rows,
        rate_control_seconds=trials * trial,
        frames=canvas.num_frames,
        compensation_cost=min(1.0, compensation_step / step),
    )


def _best_seconds(run: Callable[[], object], device: torch.device) -> float:
    """The best of TIMED_STEPS timed runs after one warm-up."""
    best = math.inf
    for _ in range(TIMED_STEPS + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best
