"""Layer maps as exact identities on hand-built models: the alpha palette, a layer dropped and
the others renormalised, the mean alpha and the dominant layer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.decoder.layer_maps import (
    PALETTE,
    alpha_colours,
    blend_layers,
    dominant_layer,
    mean_alpha,
)
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, blend

CANVAS = Canvas(32, 24, 8, Fraction(24))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 8), st.integers(1, 20), st.integers(0, 2**16))
def test_alpha_colours_mix_the_palette(layers: int, pixels: int, seed: int) -> None:
    logits = torch.randn(layers, pixels, generator=torch.Generator().manual_seed(seed)) * 4
    weights = torch.softmax(logits, dim=0)
    colours = alpha_colours(weights)
    assert colours.shape == (pixels, 3)
    strongest = weights.argmax(dim=0)
    for pixel in range(pixels):
        expected = sum(weights[k, pixel] * PALETTE[k] for k in range(layers))
        torch.testing.assert_close(colours[pixel], expected)
        if weights[strongest[pixel], pixel] > 0.999:
            torch.testing.assert_close(colours[pixel], PALETTE[strongest[pixel]], atol=2e-3, rtol=0)


def test_dropping_a_layer_renormalises_the_others() -> None:
    raw = torch.randn(3, 50, 4)
    _, layer_rgb, weights = blend(raw)
    kept = weights[[0, 2]] / weights[[0, 2]].sum(dim=0)
    expected = (kept.unsqueeze(-1) * layer_rgb[[0, 2]]).sum(dim=0)
    torch.testing.assert_close(blend_layers(raw, [0, 2]), expected)
    torch.testing.assert_close(blend_layers(raw, [0, 1, 2]), blend(raw)[0])


def test_the_dominant_layer_covers_most_of_the_clip() -> None:
    config = ModelConfig(num_layers=3, colour_width=16, colour_depth=2)
    model = CoordFlow(config)
    with torch.no_grad():
        model.colour.biases[-1][:, 0, 3] = torch.tensor([0.0, 2.0, 1.0])
        model.colour.weights[-1][:, 3] = 0.0
    alpha = mean_alpha(model, CANVAS)
    np.testing.assert_allclose(alpha, torch.softmax(torch.tensor([0.0, 2.0, 1.0]), 0), rtol=1e-5)
    assert dominant_layer(model, CANVAS) == 1
