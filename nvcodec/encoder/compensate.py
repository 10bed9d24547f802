"""Quantization with compensation: the linear maps go onto their int8 grids in rounds, and after
each round the parameters still free are fine-tuned to absorb the error: the later maps and
all biases (stored finely). The first round takes the flow nets' maps (every pixel's
coordinates go through them; they are too small to deserve rounds of their own) and the
colour nets' first map; each later round the next colour map.

What compensation recovers against plain quantization is measured by `python -m tools.study
compensation` (tools/results/compensation_160x90x32.json); the rate control
(nvcodec.encoder.ratecontrol) prices its steps with that recovery in mind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from nvcodec.bitstream.quantize import on_grid
from nvcodec.encoder.fit import FitConfig, default_batch_size, default_lr, train_step
from nvcodec.encoder.sampler import ClipSampler
from nvcodec.model.coordflow import CoordFlow
from nvcodec.runtime import flushed_denormals, resolve_precision

SHARE_OF_FIT = 0.05
"""Compensation steps, all maps together, as a share of the fit's steps."""
MIN_STEPS_PER_ROUND = 10
LR_SCALE = 0.15
"""Peak learning rate of each fine-tuning round, relative to the fit's."""


def compensation_steps(fit_steps: int, model: CoordFlow) -> int:
    """Fine-tuning steps after each round, for a fit of `fit_steps` steps."""
    rounds = len(model.colour.weights)
    return max(MIN_STEPS_PER_ROUND, math.ceil(SHARE_OF_FIT * fit_steps / rounds))


def quantize_with_compensation(
    model: CoordFlow,
    sampler: ClipSampler,
    qmax: Sequence[int],
    fit_config: FitConfig,
    steps_per_round: int,
) -> None:
    """Put `model`'s weights on the grids of `qmax` (one per linear map, in
    `CoordFlow.linear_weights` order), fine-tuning the rest `steps_per_round` steps after each
    round on batches of the sampler's clip. The model is changed in place and ends in eval
    mode; writing it with the same `qmax` adds no further weight error."""
    weights = model.linear_weights()
    if len(qmax) != len(weights):
        raise ValueError(f"need one qmax per linear map ({len(weights)}), got {len(qmax)}")
    device = weights[0].device
    peak_lr = LR_SCALE * (fit_config.lr or default_lr(model.config))
    batch_size = fit_config.batch_size or default_batch_size(device, model.config)
    generator = torch.Generator(device=device).manual_seed(fit_config.seed + 1)
    dtype = resolve_precision(fit_config.precision, device)
    model.train()
    pairs = list(zip(weights, qmax, strict=True))
    first = len(weights) - len(model.colour.weights) + 1
    rounds = [pairs[:first]] + [[pair] for pair in pairs[first:]]
    with flushed_denormals(device):
        for maps in rounds:
            for weight, map_qmax in maps:
                _snap(weight, map_qmax)
            free = [p for p in model.parameters() if p.requires_grad]
            optimiser = torch.optim.Adam(free, lr=peak_lr)
            for step in range(steps_per_round):
                cosine = 0.5 * (1.0 + math.cos(math.pi * step / steps_per_round))
                for group in optimiser.param_groups:
                    group["lr"] = peak_lr * cosine
                train_step(model, optimiser, sampler, batch_size, generator, fit_config, dtype)
    for weight in weights:
        weight.requires_grad_(True)
    model.eval()


def _snap(weight: torch.nn.Parameter, qmax: int) -> None:
    """Replace a stacked [layers, out, in] weight by its quantized values, and freeze it."""
    values = weight.detach().float().cpu().numpy()
    snapped = torch.stack([torch.from_numpy(on_grid(layer, 0, qmax)) for layer in values])
    with torch.no_grad():
        weight.copy_(snapped.to(weight.device))
    weight.requires_grad_(False)
