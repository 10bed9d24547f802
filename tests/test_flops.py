import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nvcodec.model.coordflow import CoordFlow, ModelConfig
from nvcodec.model.flops import (
    colour_macs_per_pixel,
    flow_macs,
    frame_macs,
    render_flops_per_pixel,
    train_flops_per_sample,
)

CONFIGS = [
    ModelConfig(num_layers=2, colour_width=24, colour_depth=3, xy_octaves=4, t_octaves=2),
    ModelConfig(num_layers=1, colour_width=16, colour_depth=1, use_flow=False),
    ModelConfig(num_layers=3, colour_width=8, colour_depth=2, flow_width=12, flow_depth=3),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_render_counts_match_torch_flop_counter(config: ModelConfig) -> None:
    model = CoordFlow(config)
    pixels, frames = 1000, 5
    xy = torch.rand(pixels, 2)
    with FlopCounterMode(display=False) as counter:
        terms = model.frame_terms(torch.linspace(-1, 1, frames))
    assert counter.get_total_flops() == 2 * frames * frame_macs(config)
    with FlopCounterMode(display=False) as counter:
        model.frame_evaluator(2, terms)(xy)
    # The frame's 2 x 2 matrix acting on each pixel's (x, y) is coordinate work, not the
    # model's products: 4 MACs per pixel and layer that the cost model leaves out.
    coordinates = 4 * pixels * config.num_layers
    assert counter.get_total_flops() == 2 * (pixels * colour_macs_per_pixel(config) + coordinates)
    expected = 2 * (colour_macs_per_pixel(config) + frame_macs(config) / pixels)
    assert render_flops_per_pixel(config, pixels) == pytest.approx(expected)


@pytest.mark.parametrize("config", CONFIGS)
def test_training_counts_match_torch_flop_counter(config: ModelConfig) -> None:
    model = CoordFlow(config)
    pixels, frames = 1000, 5
    xy, index = torch.rand(pixels, 2), torch.randint(0, frames, (pixels,))
    times = torch.linspace(-1, 1, frames)
    with FlopCounterMode(display=False) as counter:
        model.layer_outputs(xy, index, times)
    per_pixel = colour_macs_per_pixel(config, time_features=True)
    forward = pixels * per_pixel + frames * flow_macs(config)
    assert counter.get_total_flops() == 2 * forward
    assert train_flops_per_sample(config, pixels, frames) == pytest.approx(6 * forward / pixels)
