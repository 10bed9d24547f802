"""ModelConfig: everything that fixes a CoordFlow's shape, with the layer sizes and parameter
count derived from it in one place (no torch: probing a file needs only this)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

ACTIVATION_NAMES = ("gelu", "silu", "relu")
NET_OUTPUTS = 4
"""Each net's last layer: (log s, theta, dx, dy) for the flow, (r, g, b, alpha) for the colour."""


def window_scale(margin_percent: int) -> float:
    """A window's size relative to the frame's when it adds `margin_percent` on every side."""
    return 1.0 + 2.0 * margin_percent / 100.0


@dataclass(frozen=True)
class GridConfig:
    """The latent grids of a grid colour representation (spec/cfv.md, section 6.4).

    A pyramid of `levels` one-channel 2-D grids over the canonical window, the finest
    `width` x `height` latents and each next level half as many along each side (rounded up),
    plus one `xyt_channels`-channel grid of `xyt_frames` x `xyt_height` x `xyt_width` over
    the window and the clip's time span. The window has the finest level's aspect and is
    centred on the canonical origin; its longer side spans `window_scale` times the frame's
    longer side, the frame widened by `margin_percent` on every side, room for the flow to
    move it.
    """

    width: int
    height: int
    levels: int
    xyt_width: int
    xyt_height: int
    xyt_frames: int
    xyt_channels: int = 2
    margin_percent: int = 25

    def __post_init__(self) -> None:
        for name in ("width", "height", "levels", "xyt_width", "xyt_height", "xyt_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"grid {name} must be at least 1")

    @property
    def level_sizes(self) -> list[tuple[int, int]]:
        """(height, width) of each 2-D level, finest first."""
        return [
            (math.ceil(self.height / 2**level), math.ceil(self.width / 2**level))
            for level in range(self.levels)
        ]

    @property
    def xyt_shape(self) -> tuple[int, int, int, int]:
        """(channels, frames, height, width) of the x-y-t grid."""
        return (self.xyt_channels, self.xyt_frames, self.xyt_height, self.xyt_width)

    @property
    def features(self) -> int:
        """Values each point reads from the grids: one per 2-D level, plus the x-y-t channels."""
        return self.levels + self.xyt_channels

    @property
    def latents_per_layer(self) -> int:
        return sum(h * w for h, w in self.level_sizes) + math.prod(self.xyt_shape)

    @property
    def window_scale(self) -> float:
        """The canonical window's size relative to the frame's."""
        return window_scale(self.margin_percent)

    @property
    def half_extent(self) -> tuple[float, float]:
        """Half the window's width and height in model coordinates (spec/cfv.md, 7.1)."""
        longer = max(self.width, self.height)
        return (
            self.window_scale * self.width / longer,
            self.window_scale * self.height / longer,
        )


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a CoordFlow model (stored in the .cfv architecture chunk)."""

    num_layers: int = 2
    colour_width: int = 96
    colour_depth: int = 3
    xy_octaves: int = 6
    t_octaves: int = 4
    flow_width: int = 32
    flow_depth: int = 2
    flow_octaves: int = 4
    use_flow: bool = True
    activation: str = "gelu"
    grid: GridConfig | None = None
    """Latent grids instead of Fourier features as the colour nets' input (the grid
    representation); None for the MLP representation."""

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"unknown activation {self.activation!r}")
        for name in ("num_layers", "colour_width", "colour_depth", "flow_width", "flow_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def representation(self) -> str:
        return "mlp" if self.grid is None else "grid"

    @property
    def colour_in(self) -> int:
        if self.grid is not None:
            return self.grid.features
        return encoding_size(self.xy_octaves, 2) + encoding_size(self.t_octaves, 1)

    @property
    def flow_sizes(self) -> list[int]:
        """Layer sizes of each layer's flow net, input to output."""
        flow_in = encoding_size(self.flow_octaves, 1)
        return [flow_in] + [self.flow_width] * self.flow_depth + [NET_OUTPUTS]

    @property
    def colour_sizes(self) -> list[int]:
        """Layer sizes of each layer's colour net, input to output."""
        return [self.colour_in] + [self.colour_width] * self.colour_depth + [NET_OUTPUTS]

    def to_dict(self) -> dict:
        """The fields as plain values (the grid as a dict, or None)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> ModelConfig:
        """Inverse of `to_dict`."""
        grid = fields.get("grid")
        return cls(**{**fields, "grid": None if grid is None else GridConfig(**grid)})


def encoding_size(octaves: int, dims: int) -> int:
    """Features of `fourier_features`: the raw coordinates plus a sine and cosine per octave."""
    return dims * (1 + 2 * octaves)


def linear_shapes(sizes: list[int]) -> list[tuple[int, int]]:
    """(out, in) of each linear map of an MLP with these layer sizes."""
    return [(fan_out, fan_in) for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]


def mlp_parameters(sizes: list[int]) -> int:
    """Weights and biases of one MLP with these layer sizes."""
    return sum(fan_out * (fan_in + 1) for fan_out, fan_in in linear_shapes(sizes))


def parameter_count(config: ModelConfig) -> int:
    """Parameters of a CoordFlow of this configuration, computed without building it."""
    per_layer = mlp_parameters(config.colour_sizes)
    if config.grid is not None:
        per_layer += config.grid.latents_per_layer
    if config.use_flow:
        per_layer += mlp_parameters(config.flow_sizes)
    return config.num_layers * per_layer
