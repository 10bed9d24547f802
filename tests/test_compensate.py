from fractions import Fraction

import numpy as np
import pytest
import torch

from nvcodec.bitstream.codec import quantized_model
from nvcodec.decoder.render import render
from nvcodec.encoder.compensate import compensation_steps, quantize_with_compensation
from nvcodec.encoder.fit import FitConfig, clip_sampler, fit
from nvcodec.metrics import psnr
from nvcodec.model.coordflow import CoordFlow, ModelConfig

SMALL = ModelConfig(num_layers=2, colour_width=32, colour_depth=2, xy_octaves=4, t_octaves=2)
QMAX = (31, 31, 31, 15, 15, 15)
"""The flow net's three linear maps, then the colour net's."""


def rendered_psnr(model, canvas, clip: np.ndarray) -> float:
    times = torch.arange(clip.shape[0], dtype=torch.float64)
    frames = np.stack(list(render(model, canvas, clip.shape[2], clip.shape[1], times)))
    return psnr(clip, frames)


def test_compensation_lands_on_the_grid_and_beats_plain_quantization(tiny_clip) -> None:
    config = FitConfig(epochs=30, batch_size=256, seed=0, device="cpu")
    sampler = clip_sampler(tiny_clip, Fraction(25), torch.device("cpu"))
    result = fit(sampler, SMALL, config)
    plain = rendered_psnr(quantized_model(result.model, QMAX), result.canvas, tiny_clip)
    quantize_with_compensation(result.model, sampler, QMAX, config, steps_per_round=60)
    # Writing the compensated model changes no weight: they are already on the grid.
    stored = quantized_model(result.model, QMAX)
    for ours, theirs in zip(result.model.linear_weights(), stored.linear_weights(), strict=True):
        assert torch.equal(ours.detach(), theirs.detach())
    assert all(p.requires_grad for p in result.model.parameters())
    assert rendered_psnr(stored, result.canvas, tiny_clip) > plain + 0.3


def test_compensation_needs_one_qmax_per_map(tiny_clip) -> None:
    config = FitConfig(epochs=1, batch_size=256, device="cpu")
    sampler = clip_sampler(tiny_clip, Fraction(25), torch.device("cpu"))
    result = fit(sampler, SMALL, config)
    with pytest.raises(ValueError, match="one qmax per linear map"):
        quantize_with_compensation(result.model, sampler, QMAX[1:], config, 1)


def test_compensation_steps_are_a_share_of_the_fit() -> None:
    model = CoordFlow(SMALL)  # three colour maps: three rounds, the flow maps in the first
    assert compensation_steps(30_000, model) == 500
    assert compensation_steps(10, model) == 10
