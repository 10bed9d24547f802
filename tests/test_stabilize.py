"""Stabilization: the trajectory smoother's invariants, and renders through smoothed flows."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nvcodec import api
from nvcodec.bitstream.codec import decode_cfv, encode_cfv
from nvcodec.decoder.stabilize import gaussian_smooth, sample_trajectory, stabilized_transforms
from nvcodec.decoder.views import View
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, similarity_matrices
from nvcodec.model.coordinates import frame_times

sigmas = st.floats(0.01, 50.0)
lengths = st.integers(1, 60)
finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lengths, st.lists(finite, min_size=1, max_size=4), sigmas)
def test_a_constant_trajectory_stays_exactly_constant(count: int, value: list, sigma: float):
    trajectory = np.tile(np.asarray(value), (count, 1))
    np.testing.assert_array_equal(gaussian_smooth(trajectory, sigma), trajectory)


@settings(max_examples=200, deadline=None)
@given(lengths, finite, st.floats(-50, 50), sigmas)
def test_a_linear_trajectory_stays_linear(count: int, start: float, slope: float, sigma: float):
    trajectory = start + slope * np.arange(count, dtype=np.float64)
    smoothed = gaussian_smooth(trajectory, sigma)
    np.testing.assert_allclose(smoothed, trajectory, rtol=1e-9, atol=1e-9 * (1 + abs(start)))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(30, 80), st.integers(1, 3)), elements=finite))
def test_the_interior_is_a_plain_gaussian_average(trajectory: np.ndarray):
    sigma = 2.5
    offsets = np.arange(-10, 11)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    middle = len(trajectory) // 2
    expected = kernel @ trajectory[middle - 10 : middle + 11]
    np.testing.assert_allclose(gaussian_smooth(trajectory, sigma)[middle], expected, atol=1e-9)


def test_jitter_is_removed_at_the_ends_too() -> None:
    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 30, 64)
    shaken = smooth + rng.normal(0, 1.0, 64)
    smoothed = gaussian_smooth(shaken, 3.0)
    assert np.abs(np.diff(smoothed, 2)).mean() < 0.1 * np.abs(np.diff(shaken, 2)).mean()
    for end in (slice(0, 4), slice(-4, None)):
        assert np.sqrt(np.mean((smoothed[end] - smooth[end]) ** 2)) < 0.8


def test_a_tiny_sigma_changes_nothing() -> None:
    trajectory = np.random.default_rng(1).normal(size=(10, 4))
    np.testing.assert_allclose(gaussian_smooth(trajectory, 0.01), trajectory)


def test_fractional_frames_interpolate_the_trajectory() -> None:
    trajectory = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 16.0]])
    sampled = sample_trajectory(trajectory, np.array([0.0, 0.5, 1.75, 2.5]))
    np.testing.assert_allclose(sampled, [[0, 10], [1, 10], [3.5, 14.5], [4, 16]])


CANVAS = Canvas(32, 24, 12, Fraction(24))


def moving_model(seed: int, constant: bool = False) -> CoordFlow:
    """An unfitted 2-layer model whose flows move (or, `constant`, sit still off the identity)."""
    torch.manual_seed(seed)
    model = CoordFlow(ModelConfig(num_layers=2, colour_width=16, colour_depth=2))
    with torch.no_grad():
        model.flow.weights[-1].normal_(0, 0.0 if constant else 0.3)
        model.flow.biases[-1].normal_(0, 0.1)
    return model


def test_the_camera_layer_follows_its_smoothed_trajectory() -> None:
    model = moving_model(3)
    frames = torch.arange(CANVAS.num_frames, dtype=torch.float64)
    times = frame_times(CANVAS, frames)
    with torch.no_grad():
        params = model.flow_parameters(times).double()
        original = similarity_matrices(params)
    for camera in (0, 1):
        matrices = stabilized_transforms(model, CANVAS, 2.0, camera)(frames)
        wanted = similarity_matrices(torch.from_numpy(gaussian_smooth(params[camera], 2.0)))
        torch.testing.assert_close(matrices[camera], wanted)
        # Both layers are sampled through the same correction C (T_k C), so T_other T_camera^-1
        # is the one the flow learned.
        other = 1 - camera
        relative = _square(matrices[other]) @ torch.linalg.inv(_square(matrices[camera]))
        expected = _square(original[other]) @ torch.linalg.inv(_square(original[camera]))
        torch.testing.assert_close(relative, expected)


def _square(matrices: torch.Tensor) -> torch.Tensor:
    last = torch.tensor([0.0, 0.0, 1.0], dtype=matrices.dtype).expand(*matrices.shape[:-2], 1, 3)
    return torch.cat((matrices, last), dim=-2)


@pytest.mark.parametrize("fps", [None, 60])
def test_a_still_camera_renders_unchanged(fps) -> None:
    data = encode_cfv(moving_model(4, constant=True), CANVAS)
    plain = api.decode(data, fps=fps).frames_u8.astype(int)
    stabilized = api.decode(data, fps=fps, view=View(stabilize=3.0)).frames_u8.astype(int)
    assert np.abs(stabilized - plain).max() <= 1


def test_stabilizing_smooths_the_rendered_motion() -> None:
    """A camera that shakes: the stabilized frames differ from the plain ones, and the camera
    layer's transforms in the render are smoother than the flow's."""
    data = encode_cfv(moving_model(5), CANVAS)
    model = decode_cfv(data).model
    frames = torch.arange(CANVAS.num_frames, dtype=torch.float64)
    with torch.no_grad():
        shaky = model.similarity(frame_times(CANVAS, frames))[0, :, :, 2].numpy()
    steady = stabilized_transforms(model, CANVAS, 4.0, 0)(frames)[0, :, :, 2].numpy()
    assert np.abs(np.diff(steady, 2, axis=0)).sum() < np.abs(np.diff(shaky, 2, axis=0)).sum()
    plain = api.decode(data).frames_u8
    assert not np.array_equal(
        api.decode(data, view=View(stabilize=4.0, stabilize_layer=0)).frames_u8, plain
    )
