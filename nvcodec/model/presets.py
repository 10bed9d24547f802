"""Model sizes: named presets and explicit parameter budgets, turned into a ModelConfig.

The parameter count is the budget; widths follow from it. Encoding octaves follow the clip:
a finer raster needs higher spatial frequencies, a longer clip more temporal ones.
"""

from __future__ import annotations

import math

from nvcodec.errors import SettingsError
from nvcodec.model.config import (
    GridConfig,
    ModelConfig,
    mlp_parameters,
    parameter_count,
    window_scale,
)

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


GRID_MARGIN_PERCENT = 25
GRID_COARSEST_SIDE = 8
"""The 2-D pyramid halves down to a level whose longer side has about this many latents."""
GRID_MAX_LEVELS = 8
GRID_COLOUR_WIDTH = 32
GRID_COLOUR_DEPTH = 2
GRID_FLOW_WIDTH = 16
"""Half the MLP model's: a grid model's file is small enough that the flow nets' weights
are a noticeable part of it (tools/results/grid_sweep_bunny_320x180x132.json, flow_width)."""
XYT_SPATIAL_DIVISOR = 8
XYT_TEMPORAL_DIVISOR = 4
XYT_CHANNELS = 2


def grid_config(
    width: int,
    height: int,
    num_frames: int,
    density: float = 1.0,
    xyt_spatial_divisor: int = XYT_SPATIAL_DIVISOR,
    xyt_temporal_divisor: int = XYT_TEMPORAL_DIVISOR,
) -> GridConfig:
    """Latent grids for a clip: the finest level at `density` latents per frame pixel over
    the canonical window, the x-y-t grid `xyt_spatial_divisor` times coarser in space and
    `xyt_temporal_divisor` times in time."""
    scale = density * window_scale(GRID_MARGIN_PERCENT)
    finest = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
    levels = max(1, min(GRID_MAX_LEVELS, 1 + int(math.log2(max(finest) / GRID_COARSEST_SIDE))))
    return GridConfig(
        width=finest[0],
        height=finest[1],
        levels=levels,
        xyt_width=max(1, math.ceil(finest[0] / xyt_spatial_divisor)),
        xyt_height=max(1, math.ceil(finest[1] / xyt_spatial_divisor)),
        xyt_frames=max(1, math.ceil(num_frames / xyt_temporal_divisor)),
        xyt_channels=XYT_CHANNELS,
        margin_percent=GRID_MARGIN_PERCENT,
    )


def grid_model_config(
    width: int,
    height: int,
    num_frames: int,
    num_layers: int = 2,
    density: float = 1.0,
    **grid_options: int,
) -> ModelConfig:
    """A grid-representation CoordFlow for a clip (`grid_config` for the density and the
    x-y-t grid's divisors)."""
    return ModelConfig(
        num_layers=num_layers,
        colour_width=GRID_COLOUR_WIDTH,
        colour_depth=GRID_COLOUR_DEPTH,
        xy_octaves=0,
        t_octaves=0,
        flow_width=GRID_FLOW_WIDTH,
        flow_depth=FLOW_DEPTH,
        flow_octaves=FLOW_OCTAVES,
        grid=grid_config(width, height, num_frames, density, **grid_options),
    )


def grid_config_for_budget(
    params: int, width: int, height: int, num_frames: int, num_layers: int = 2
) -> ModelConfig:
    """The grid model of at most `params` parameters: the finest latents at one per frame
    pixel, or sparser until the model fits the budget. The rate term, not the budget, decides
    how many latents the file spends bits on; the budget bounds memory and time."""
    density = 1.0
    while True:
        config = grid_model_config(width, height, num_frames, num_layers, density=density)
        if parameter_count(config) <= params or density < 1e-3:
            return config
        density *= 0.9
