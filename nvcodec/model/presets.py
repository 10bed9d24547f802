"""Model sizes: named presets and explicit parameter budgets, turned into a ModelConfig.

The parameter count is the budget; widths follow from it. Encoding octaves follow the clip:
a finer raster needs higher spatial frequencies, a longer clip more temporal ones.
"""

from __future__ import annotations

import math

from nvcodec.errors import SettingsError
from nvcodec.model.config import ModelConfig, mlp_parameters

# Total parameters per preset. xs is the CPU demo size; s, m and l follow the paper's S/M/L
# (3.13M, 6.11M, 12.68M on UVG 1080p).
PRESETS = {"xs": 100_000, "s": 3_000_000, "m": 6_000_000, "l": 12_500_000}
DEFAULT_PRESET = "s"
# Hidden layers of each colour net by its parameter share: deeper as the budget grows, so the
# width stays in the few-hundreds where one more layer buys more than more width.
DEPTH_TIERS = ((150_000, 3), (600_000, 4), (2_000_000, 5))
DEEPEST = 6
WIDTH_MULTIPLE = 8  # matrix units work in tiles of 8/16 lanes
FLOW_WIDTH = 32
FLOW_DEPTH = 2
FLOW_OCTAVES = 4


def spatial_octaves(width: int, height: int) -> int:
    """Highest octave about the raster's Nyquist rate: 6 at 160 px, 9 at 1280 px."""
    return max(2, round(math.log2(max(width, height))) - 1)


def temporal_octaves(num_frames: int) -> int:
    return max(1, min(8, round(math.log2(max(num_frames, 2))) - 1))


def config_for_budget(
    params: int,
    width: int,
    height: int,
    num_frames: int,
    num_layers: int = 2,
    use_flow: bool = True,
    activation: str = "gelu",
) -> ModelConfig:
    """The widest colour networks whose model stays within `params` parameters."""
    flow_only = ModelConfig(num_layers, 1, 1, 0, 0, FLOW_WIDTH, FLOW_DEPTH, FLOW_OCTAVES, use_flow)
    flow = use_flow * num_layers * mlp_parameters(flow_only.flow_sizes)
    per_layer = (params - flow) / num_layers
    depth = next((d for limit, d in DEPTH_TIERS if per_layer <= limit), DEEPEST)
    base = ModelConfig(
        num_layers=num_layers,
        colour_width=WIDTH_MULTIPLE,
        colour_depth=depth,
        xy_octaves=spatial_octaves(width, height),
        t_octaves=temporal_octaves(num_frames),
        flow_width=FLOW_WIDTH,
        flow_depth=FLOW_DEPTH,
        flow_octaves=FLOW_OCTAVES,
        use_flow=use_flow,
        activation=activation,
    )
    # (depth - 1) w^2 + (in + depth + 4) w + 4 <= per_layer, solved for w.
    a, b, c = depth - 1, base.colour_in + depth + 4, 4 - per_layer
    exact = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    colour_width = max(WIDTH_MULTIPLE, int(exact // WIDTH_MULTIPLE) * WIDTH_MULTIPLE)
    return ModelConfig(**{**base.to_dict(), "colour_width": colour_width})


def preset_parameters(name: str | None) -> int:
    """The parameter budget of a preset (DEFAULT_PRESET for None); SettingsError if unknown."""
    name = DEFAULT_PRESET if name is None else name
    if name not in PRESETS:
        raise SettingsError(f"unknown model size {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def config_for_preset(
    name: str, width: int, height: int, num_frames: int, **options: object
) -> ModelConfig:
    return config_for_budget(preset_parameters(name), width, height, num_frames, **options)
