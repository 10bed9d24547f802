"""The renderer's fused oneDNN linear maps against the plain batched products."""

from __future__ import annotations

import pytest
import torch

from nvcodec.model import coordflow
from nvcodec.model.coordflow import CoordFlow, ModelConfig, StackedMLP
from nvcodec.model.fused_linear import fused_linear_available, fused_stack
from nvcodec.model.presets import grid_model_config

needs_onednn = pytest.mark.skipif(not fused_linear_available(), reason="no oneDNN fused op")


@needs_onednn
@pytest.mark.parametrize("activation", ["gelu", "silu", "relu"])
def test_fused_maps_match_the_plain_products(activation: str) -> None:
    torch.manual_seed(0)
    mlp = StackedMLP(3, [7, 16, 16, 4], activation)
    x = torch.randn(3, 7, 100).transpose(1, 2)  # as the grid reader gives its features
    offset = torch.randn(3, 1, 16)
    with torch.no_grad():
        maps = mlp.linear_maps(7, offset, torch.float32)
        fused = fused_stack(maps, activation)
        assert fused is not None
        torch.testing.assert_close(fused(x), mlp.apply_maps(maps, x), rtol=1e-5, atol=1e-6)


@needs_onednn
def test_fused_bfloat16_maps_stay_near_float32() -> None:
    torch.manual_seed(0)
    mlp = StackedMLP(2, [8, 32, 32, 4], "gelu")
    x = torch.randn(2, 8, 1000).transpose(1, 2)
    with torch.no_grad():
        exact = mlp.apply_maps(mlp.linear_maps(8, None, torch.float32), x)
        fused = fused_stack(mlp.linear_maps(8, None, torch.bfloat16), "gelu")
        assert fused is not None
        rounded = fused(x)
    assert rounded.dtype == torch.float32 and not torch.equal(rounded, exact)
    # bfloat16 keeps 8 significant bits: errors of a few parts in a thousand of the outputs.
    assert (rounded - exact).abs().max() < 0.02 * exact.abs().max()


def test_plain_products_where_fusing_does_not_apply() -> None:
    mlp = StackedMLP(2, [4, 8, 4], "gelu")
    with torch.no_grad():
        assert fused_stack(mlp.linear_maps(4, None, torch.float16), "gelu") is None
    # With autograd on (fitting), the products stay differentiable.
    assert fused_stack(mlp.linear_maps(4, None, torch.float32), "gelu") is None


@needs_onednn
@pytest.mark.parametrize(
    "config",
    [
        grid_model_config(40, 24, 6, 3),
        ModelConfig(num_layers=2, colour_width=16, colour_depth=2, xy_octaves=3, t_octaves=2),
    ],
    ids=["grid", "mlp"],
)
def test_frame_evaluators_agree_fused_or_not(config: ModelConfig, monkeypatch) -> None:
    built = []

    def recorded(*args):
        built.append(fused_stack(*args))
        return built[-1]

    monkeypatch.setattr(coordflow, "fused_stack", recorded)
    torch.manual_seed(0)
    model = CoordFlow(config)
    if model.grids is not None:
        with torch.no_grad():
            for tensor in model.grids.tensors():
                tensor.copy_(torch.randn_like(tensor))
    xy, times = torch.rand(300, 2) * 2 - 1, torch.linspace(-1, 1, 4)
    with torch.no_grad():
        terms = model.frame_terms(times)
        fused = model.frame_evaluator(1, terms, fused=True)(xy)
        plain = model.frame_evaluator(1, terms, fused=False)(xy)
    assert len(built) == 1 and built[0] is not None  # the fused evaluator did fuse
    assert fused.shape == (config.num_layers, 300, 4)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
