"""Decoding the layers one by one through the API: alpha maps, a layer alone, a layer dropped,
the canonical space, and the views a model or the settings cannot give."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
import torch

from nvcodec import api
from nvcodec.bitstream.codec import encode_cfv
from nvcodec.decoder.layer_maps import PALETTE
from nvcodec.decoder.views import View
from nvcodec.errors import SettingsError
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig

CANVAS = Canvas(32, 24, 8, Fraction(24))


VIEW_OPTIONS = {field.name for field in dataclasses.fields(View)}


def decode_with_view(data, **options):
    """api.decode with the view's options gathered into a View."""
    view = View(**{k: v for k, v in options.items() if k in VIEW_OPTIONS})
    return api.decode(
        data, view=view, **{k: v for k, v in options.items() if k not in VIEW_OPTIONS}
    )


def model_file(layers: int, use_flow: bool = True, seed: int = 0) -> bytes:
    """A .cfv file of an unfitted model whose flow moves (a random last layer, not zero)."""
    torch.manual_seed(seed)
    config = ModelConfig(num_layers=layers, colour_width=16, colour_depth=2, use_flow=use_flow)
    model = CoordFlow(config)
    if model.flow is not None:
        with torch.no_grad():
            model.flow.weights[-1].normal_(0, 0.3)
            model.flow.biases[-1].normal_(0, 0.1)
    return encode_cfv(model, CANVAS)


@pytest.mark.parametrize(
    ("options", "shape"),
    [
        ({"alpha_map": True}, (8, 24, 32, 3)),
        ({"layer": 1}, (8, 24, 32, 3)),
        ({"drop_layer": 0}, (8, 24, 32, 3)),
        ({"canonical": True}, (8, 48, 64, 3)),
        ({"canonical": True, "canonical_extent": 1.5, "scale": 0.5}, (8, 18, 24, 3)),
        ({"canonical": True, "size": (40, 30)}, (8, 30, 40, 3)),
        ({"canonical": True, "layer": 0, "fps": 48}, (16, 48, 64, 3)),
        ({"alpha_map": True, "stabilize": 2.0}, (8, 24, 32, 3)),
    ],
)
def test_views_of_a_fitted_file(tiny_cfv: str, options: dict, shape: tuple) -> None:
    frames = decode_with_view(tiny_cfv, **options).frames_u8
    assert frames.shape == shape and frames.dtype == np.uint8


def test_layer_zero_of_one_layer_is_the_plain_render() -> None:
    data = model_file(1)
    plain = api.decode(data).frames_u8
    np.testing.assert_array_equal(api.decode(data, view=View(layer=0)).frames_u8, plain)


def test_dropping_one_of_two_layers_leaves_the_other() -> None:
    data = model_file(2)
    for kept, dropped in ((0, 1), (1, 0)):
        alone = api.decode(data, fps=36, view=View(layer=kept)).frames_u8
        np.testing.assert_array_equal(
            api.decode(data, fps=36, view=View(drop_layer=dropped)).frames_u8, alone
        )
    assert not np.array_equal(api.decode(data, view=View(layer=0)).frames_u8, alone)


def test_alpha_map_of_one_layer_is_its_palette_colour() -> None:
    frames = api.decode(model_file(1), view=View(alpha_map=True)).frames_u8
    expected = np.round(PALETTE[0].numpy() * 255).astype(np.uint8)
    assert (frames == expected).all()


def test_canonical_window_around_a_still_model() -> None:
    """Without flow the frame is the middle of the canonical window: at extent 2 and the same
    pixel density, the window's central pixels are the frame's own pixel centres."""
    data = model_file(2, use_flow=False)
    plain = api.decode(data).frames_u8
    narrow = api.decode(data, view=View(canonical=True, canonical_extent=1)).frames_u8
    np.testing.assert_array_equal(narrow, plain)
    wide = api.decode(data, view=View(canonical=True)).frames_u8.astype(int)
    assert wide.shape == (8, 48, 64, 3)
    assert np.abs(wide[:, 12:36, 16:48] - plain).max() <= 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layer": 2}, "--layer 2 is out of range: the model has 2 layers (0 to 1)"),
        ({"layer": -1}, "--layer -1 is out of range"),
        ({"drop_layer": 5}, "--drop-layer 5 is out of range"),
        ({"stabilize": 1.0, "stabilize_layer": 2}, "--stabilize-layer 2 is out of range"),
        ({"alpha_map": True, "layer": 0}, "only one of --alpha-map, --layer and --drop-layer"),
        ({"layer": 0, "drop_layer": 1}, "only one of"),
        ({"stabilize": 1.0, "canonical": True}, "cannot be used together"),
        ({"stabilize_layer": 0}, "--stabilize-layer needs --stabilize"),
        ({"canonical_extent": 3.0}, "--canonical-extent needs --canonical"),
        ({"canonical": True, "canonical_extent": 0.0}, "must be a positive number"),
        ({"stabilize": float("nan")}, "must be a positive number"),
    ],
)
def test_impossible_view_settings(tiny_cfv: str, options: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decode_with_view(tiny_cfv, **options)


def test_settings_a_model_cannot_honour() -> None:
    with pytest.raises(SettingsError, match="at least 2 layers"):
        api.decode(model_file(1), view=View(drop_layer=0))
    with pytest.raises(SettingsError, match="needs a model with flow"):
        api.decode(model_file(1, use_flow=False), view=View(stabilize=2.0))
    with pytest.raises(SettingsError, match="the model has 1 layer \\(0 to 0\\)"):
        api.decode(model_file(1), view=View(layer=1))
