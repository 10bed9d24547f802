"""ModelConfig: everything that fixes a CoordFlow's shape, with the layer sizes and parameter
count derived from it in one place (no torch: probing a file needs only this)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ACTIVATION_NAMES = ("gelu", "silu", "relu")
NET_OUTPUTS = 4
"""Each net's last layer: (log s, theta, dx, dy) for the flow, (r, g, b, alpha) for the colour."""


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

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"unknown activation {self.activation!r}")
        for name in ("num_layers", "colour_width", "colour_depth", "flow_width", "flow_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def colour_in(self) -> int:
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
        return asdict(self)


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
    if config.use_flow:
        per_layer += mlp_parameters(config.flow_sizes)
    return config.num_layers * per_layer
