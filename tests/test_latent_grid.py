"""The grid representation: latent grids read as spec/cfv.md section 6.4 says, the frame
reader agreeing with the fitting path, and the rate estimate of the latents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream.context import (
    CONTEXT_CLASSES,
    PREVIOUS_LEVELS,
    frames_of,
    temporal_context_classes,
)
from nvcodec.encoder.latent_rate import (
    MIN_PROBABILITY,
    LatentRate,
    laplace_bits,
    latent_context_classes,
    noisy,
    round_latents,
    straight_through,
)
from nvcodec.model.config import GridConfig, ModelConfig, parameter_count
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.presets import grid_config, grid_model_config

GRID = GridConfig(width=9, height=6, levels=2, xyt_width=3, xyt_height=2, xyt_frames=3)
CONFIG = ModelConfig(colour_width=8, colour_depth=1, xy_octaves=0, t_octaves=0, grid=GRID)


def _model(seed: int = 0) -> CoordFlow:
    torch.manual_seed(seed)
    model = CoordFlow(CONFIG).eval()
    with torch.no_grad():
        for tensor in model.grids.tensors():
            tensor.normal_(0, 3)
        model.flow.weights[-1].normal_(0, 0.1)
    return model


def _bilinear(grid: np.ndarray, u: float, v: float) -> np.ndarray:
    """Spec 6.4: cell centres at ((u + 1) w - 1) / 2, clamped to the border, read bilinearly."""
    h, w = grid.shape[-2:]
    px = min(max(((u + 1) * w - 1) / 2, 0.0), w - 1.0)
    py = min(max(((v + 1) * h - 1) / 2, 0.0), h - 1.0)
    i0, j0 = int(math.floor(px)), int(math.floor(py))
    i1, j1 = min(i0 + 1, w - 1), min(j0 + 1, h - 1)
    fx, fy = px - i0, py - j0
    top = (1 - fx) * grid[..., j0, i0] + fx * grid[..., j0, i1]
    bottom = (1 - fx) * grid[..., j1, i0] + fx * grid[..., j1, i1]
    return (1 - fy) * top + fy * bottom


def _spec_features(model: CoordFlow, layer: int, x: float, y: float, t: float) -> np.ndarray:
    half_x, half_y = GRID.half_extent
    u, v = x / half_x, y / half_y
    planes = [_bilinear(p[layer, 0].detach().double().numpy(), u, v) for p in model.grids.planes]
    volume = model.grids.volume[layer].detach().double().numpy()  # [C, T', h, w]
    frames = volume.shape[1]
    pt = min(max(((t + 1) * frames - 1) / 2, 0.0), frames - 1.0)
    k0 = int(math.floor(pt))
    k1, ft = min(k0 + 1, frames - 1), pt - k0
    in_time = (1 - ft) * volume[:, k0] + ft * volume[:, k1]
    return np.array([*planes, *_bilinear(in_time, u, v)])


@settings(max_examples=30, deadline=None)
@given(
    x=st.floats(-2.5, 2.5),
    y=st.floats(-2.5, 2.5),
    t=st.floats(-1.2, 1.2),
    layer=st.integers(0, 1),
)
def test_grid_reads_follow_the_spec(x: float, y: float, t: float, layer: int) -> None:
    model = _model()
    flowed = torch.tensor([[[x, y]]] * 2, dtype=torch.float32)
    with torch.no_grad():
        features = model.grids.features(flowed, torch.tensor([t], dtype=torch.float32))
    expected = _spec_features(model, layer, float(np.float32(x)), float(np.float32(y)), t)
    np.testing.assert_allclose(features[layer, 0].numpy(), expected, rtol=1e-4, atol=1e-4)


def test_frame_reader_matches_the_fitting_path() -> None:
    model = _model()
    times = torch.linspace(-1, 1 - 2 / 5, 5)
    xy = torch.rand(64, 2) * 2.4 - 1.2
    with torch.no_grad():
        batch = model.layer_outputs(xy, torch.full((64,), 3), times)
        frame = model.frame_evaluator(3, model.frame_terms(times))(xy)
    torch.testing.assert_close(frame, batch, rtol=1e-5, atol=1e-5)


def test_parameter_count_includes_the_latents() -> None:
    model = CoordFlow(CONFIG)
    assert parameter_count(CONFIG) == count_parameters(model)
    assert count_parameters(model.grids) == 2 * (9 * 6 + 5 * 3 + 2 * 3 * 2 * 3)


def test_grid_of_a_clip_covers_the_frame_and_its_margins() -> None:
    grid = grid_config(320, 180, 132)
    assert (grid.width, grid.height) == (480, 270)
    assert grid.level_sizes[-1][1] >= 8 > grid.level_sizes[-1][1] / 2
    half_x, half_y = grid.half_extent
    assert half_x == pytest.approx(1.5)
    assert half_y == pytest.approx(1.5 * 180 / 320, rel=1e-2)
    assert grid_model_config(320, 180, 132).colour_in == grid.features


def _laplace_cdf(x: float, scale: float) -> float:
    return 0.5 * math.exp(x / scale) if x < 0 else 1.0 - 0.5 * math.exp(-x / scale)


@settings(max_examples=40, deadline=None)
@given(value=st.floats(-60.0, 60.0), scale=st.floats(0.05, 40.0))
def test_laplace_bits_are_the_mass_of_the_rounding_bin(value: float, scale: float) -> None:
    mass = _laplace_cdf(value + 0.5, scale) - _laplace_cdf(value - 0.5, scale)
    expected = -math.log2(max(mass, MIN_PROBABILITY))
    bits = laplace_bits(torch.tensor(value, dtype=torch.float64), torch.tensor(scale))
    assert float(bits) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_laplace_bits_sum_to_one_over_the_integers() -> None:
    values = torch.arange(-400, 401, dtype=torch.float64)
    for scale in (0.5, 3.0, 20.0):
        masses = torch.exp2(-laplace_bits(values, torch.tensor(scale, dtype=torch.float64)))
        floored = int((masses <= MIN_PROBABILITY).sum())
        assert 1.0 - 1e-3 <= float(masses.sum()) <= 1.0 + 1e-9 + floored * MIN_PROBABILITY


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    seed=st.integers(0, 2**16),
    spread=st.floats(0.1, 8.0),
)
def test_the_rate_classes_latents_as_the_file_codes_them(
    shape: list[int], seed: int, spread: float
) -> None:
    latents = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * spread
    codes = latents.round().clamp(-127, 127).numpy().astype(np.int8)
    slices = codes.reshape(-1, *shape[-2:])
    expected = temporal_context_classes(slices, frames_of(shape)).reshape(shape)
    np.testing.assert_array_equal(latent_context_classes(latents).numpy(), expected)


def test_the_rate_learns_a_wide_scale_among_large_latents_and_a_narrow_one_among_zeros() -> None:
    model = _model()
    signs = torch.randn(model.grids.planes[0][..., :4].shape).sign()
    with torch.no_grad():
        for tensor in model.grids.tensors():
            tensor.zero_()
        model.grids.planes[0][..., :4] = 4.0 * signs
    rate = LatentRate(model.grids)
    optimiser = torch.optim.Adam(rate.parameters(), lr=0.1)
    for _ in range(200):
        optimiser.zero_grad()
        rate.bits([tensor.detach() for tensor in model.grids.tensors()]).backward()
        optimiser.step()
    scales = rate.log_scales[0].exp()
    widest = PREVIOUS_LEVELS * (CONTEXT_CLASSES - 1)  # a plane, one frame: no previous one
    assert scales[widest] > 2.0 > 0.2 > scales[0]


def test_rate_falls_with_smaller_latents_and_trains_its_scales() -> None:
    model = _model()
    rate = LatentRate(model.grids)
    wide = rate.bits(model.grids.read_all()).item()
    with torch.no_grad():
        for tensor in model.grids.tensors():
            tensor.mul_(0.1)
    assert rate.bits(model.grids.read_all()).item() < wide
    rate.bits(model.grids.read_all()).backward()
    assert all(scale.grad is not None for scale in rate.log_scales)


def test_noise_and_straight_through_rounding() -> None:
    latents = torch.linspace(-3, 3, 101, requires_grad=True)
    assert float((noisy(latents) - latents).detach().abs().max()) <= 0.5
    rounded = straight_through(latents)
    assert torch.equal(rounded, latents.detach().round())
    rounded.sum().backward()
    assert torch.equal(latents.grad, torch.ones(101))


def test_rounding_puts_the_latents_on_the_integers_and_freezes_them() -> None:
    model = _model()
    with torch.no_grad():
        model.grids.volume[0, 0, 0, 0, 0] = 500.0
    model.grids.quantizer = noisy
    round_latents(model.grids)
    assert model.grids.quantizer is None
    for tensor in model.grids.tensors():
        assert torch.equal(tensor, tensor.round())
        assert float(tensor.abs().max()) <= 127
        assert not tensor.requires_grad
