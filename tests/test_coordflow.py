import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.model.coordflow import (
    CoordFlow,
    ModelConfig,
    count_parameters,
    encoding_size,
    fourier_features,
    similarity_matrices,
)

TINY = ModelConfig(num_layers=2, colour_width=16, colour_depth=2, xy_octaves=3, t_octaves=2)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=16), st.integers(1, 3))
def test_flow_is_identity_at_initialisation(times: list[float], layers: int) -> None:
    model = CoordFlow(ModelConfig(num_layers=layers, colour_width=8, colour_depth=1))
    matrices = model.similarity(torch.tensor(times))
    assert matrices.shape == (layers, len(times), 2, 3)
    torch.testing.assert_close(matrices, torch.eye(2, 3).expand_as(matrices))


@settings(max_examples=50, deadline=None)
@given(st.floats(-2, 2), st.floats(-math.pi, math.pi), st.floats(-1, 1), st.floats(-1, 1))
def test_similarity_matrix_of_eq_1(log_s: float, theta: float, dx: float, dy: float) -> None:
    m = similarity_matrices(torch.tensor([log_s, theta, dx, dy], dtype=torch.float64))
    s = math.exp(log_s)
    expected = torch.tensor(
        [
            [s * math.cos(theta), -s * math.sin(theta), dx],
            [s * math.sin(theta), s * math.cos(theta), dy],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(m, expected)


def test_softmax_weights_sum_to_one() -> None:
    torch.manual_seed(0)
    model = CoordFlow(ModelConfig(num_layers=3, colour_width=16, colour_depth=2))
    xy = torch.rand(100, 2) * 2 - 1
    frame = torch.randint(0, 5, (100,))
    rgb, layer_rgb, weights = model(xy, frame, torch.linspace(-1, 1, 5))
    assert rgb.shape == (100, 3) and layer_rgb.shape == (3, 100, 3)
    torch.testing.assert_close(weights.sum(0), torch.ones(100))
    torch.testing.assert_close(rgb, (weights.unsqueeze(-1) * layer_rgb).sum(0))


def test_layer_outputs_follow_the_paper() -> None:
    torch.manual_seed(0)
    model = CoordFlow(TINY)
    xy, times = torch.rand(50, 2) * 2 - 1, torch.linspace(-1, 1, 4)
    frame = torch.randint(0, 4, (50,))
    raw = model.layer_outputs(xy, frame, times)
    # Reference: flow the coordinates, encode (x', y', t) in full, run the plain MLP.
    m = model.similarity(times)[:, frame]
    flowed = torch.einsum("lnij,nj->lni", m, torch.cat([xy, torch.ones(50, 1)], -1))
    t_features = fourier_features(times[frame].unsqueeze(-1), TINY.t_octaves)
    full = torch.cat([fourier_features(flowed, TINY.xy_octaves), t_features.expand(2, -1, -1)], -1)
    torch.testing.assert_close(raw, model.colour(full), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("grad", [True, False])
def test_render_path_equals_fitting_path(grad: bool) -> None:
    """The renderer's per-frame projection of the time features is exact, with or without
    autograd (without it the activations run in place)."""
    torch.manual_seed(0)
    model = CoordFlow(TINY)
    xy, times = torch.rand(50, 2) * 2 - 1, torch.linspace(-1, 1, 4)
    with torch.set_grad_enabled(grad):
        raw = model.frame_evaluator(2, model.frame_terms(times))(xy)
        reference = model.layer_outputs(xy, torch.full((50,), 2), times)
    torch.testing.assert_close(raw, reference, rtol=1e-5, atol=1e-5)


def test_without_flow_the_similarity_stays_identity() -> None:
    model = CoordFlow(ModelConfig(use_flow=False, colour_width=8, colour_depth=1))
    assert model.flow is None
    matrices = model.similarity(torch.linspace(-1, 1, 3))
    torch.testing.assert_close(matrices, torch.eye(2, 3).expand_as(matrices))


@given(st.integers(0, 8), st.integers(1, 3))
def test_fourier_feature_size(octaves: int, dims: int) -> None:
    features = fourier_features(torch.zeros(5, dims), octaves)
    assert features.shape == (5, encoding_size(octaves, dims))


def test_colour_networks_hold_nearly_all_parameters() -> None:
    model = CoordFlow(ModelConfig(colour_width=144))
    colour = sum(p.numel() for p in model.colour.parameters())
    assert colour / count_parameters(model) > 0.95
