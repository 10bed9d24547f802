import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nvcodec.cost import colour_macs_per_pixel, frame_macs, render_flops_per_pixel
from nvcodec.model import CoordFlow, ModelConfig


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(num_layers=2, colour_width=24, colour_depth=3, xy_octaves=4, t_octaves=2),
        ModelConfig(num_layers=1, colour_width=16, colour_depth=1, use_flow=False),
        ModelConfig(num_layers=3, colour_width=8, colour_depth=2, flow_width=12, flow_depth=3),
    ],
)
def test_counts_match_torch_flop_counter(config: ModelConfig) -> None:
    model = CoordFlow(config)
    pixels, frames = 1000, 5
    xy, index = torch.rand(pixels, 2), torch.randint(0, frames, (pixels,))
    with FlopCounterMode(display=False) as counter:
        terms = model.frame_terms(torch.linspace(-1, 1, frames))
    assert counter.get_total_flops() == 2 * frames * frame_macs(config)
    with FlopCounterMode(display=False) as counter:
        model.layer_outputs(xy, index, terms)
    assert counter.get_total_flops() == 2 * pixels * colour_macs_per_pixel(config)
    expected = 2 * (colour_macs_per_pixel(config) + frame_macs(config) / pixels)
    assert render_flops_per_pixel(config, pixels) == pytest.approx(expected)
