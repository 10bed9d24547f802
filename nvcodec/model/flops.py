"""Exact arithmetic cost of a CoordFlow model, for speed reports against the machine's ceiling.

A multiply-accumulate (MAC) is two FLOPs. Training counts six FLOPs per MAC: the forward
product, and in the backward pass the gradients with respect to the input (needed down to the
first layer, whose input gradient drives the flow) and to the weights.
"""

from __future__ import annotations

from nvcodec.model.config import NET_OUTPUTS, ModelConfig, encoding_size, linear_shapes


def colour_macs_per_pixel(config: ModelConfig, time_features: bool = False) -> int:
    """MACs that every pixel pays in the colour networks (all layers together).

    Rendering projects the time features once per frame; fitting, whose batches mix frames,
    feeds them to the first layer with each pixel (`time_features=True`).
    """
    width, depth = config.colour_width, config.colour_depth
    first = _colour_inputs(config, time_features) * width
    per_layer = first + (depth - 1) * width * width + width * NET_OUTPUTS
    return config.num_layers * (per_layer + _grid_read_macs(config, time_features))


def _grid_read_macs(config: ModelConfig, in_time: bool) -> int:
    """MACs of one layer's grid reads: 4 per bilinear value, 8 per trilinear one (fitting
    reads the x-y-t grid in time too; rendering has interpolated it once per frame)."""
    grid = config.grid
    if grid is None:
        return 0
    return 4 * grid.levels + (8 if in_time else 4) * grid.xyt_channels


def flow_macs(config: ModelConfig) -> int:
    """MACs of the flow networks for one frame (all layers together)."""
    if not config.use_flow:
        return 0
    maps = linear_shapes(config.flow_sizes)
    return config.num_layers * sum(fan_out * fan_in for fan_out, fan_in in maps)


def frame_macs(config: ModelConfig) -> int:
    """MACs a render computes once per frame: the flow networks, and the time features'
    projection (an MLP model) or the x-y-t grid's interpolation in time (a grid model)."""
    if config.grid is None:
        per_layer = encoding_size(config.t_octaves, 1) * config.colour_width
    else:  # the x-y-t grid interpolated in time
        per_layer = 2 * config.grid.xyt_channels * config.grid.xyt_height * config.grid.xyt_width
    return config.num_layers * per_layer + flow_macs(config)


def render_flops_per_pixel(config: ModelConfig, pixels_per_frame: int) -> float:
    """Forward FLOPs per rendered pixel, the per-frame work spread over the frame's pixels."""
    return 2.0 * (colour_macs_per_pixel(config) + frame_macs(config) / pixels_per_frame)


def train_flops_per_sample(config: ModelConfig, batch_size: int, num_frames: int) -> float:
    """Forward and backward FLOPs per pixel sample; each step evaluates every frame's flow."""
    per_step_flow = flow_macs(config) * num_frames
    return 6.0 * (colour_macs_per_pixel(config, time_features=True) + per_step_flow / batch_size)


def activation_bytes_per_pixel(config: ModelConfig, time_features: bool = False) -> int:
    """Bytes of float32 activations a pixel's forward pass writes in the colour networks: the
    encoded input, then each linear map's output and each activation's output.

    Every one of them is written once and read at least once, so FLOPs per pixel over this
    is an upper bound on arithmetic intensity; at the widths of small presets it is low enough
    that the elementwise passes, not the products, set the pace on a CPU.
    """
    hidden = 2 * config.colour_depth * config.colour_width
    return 4 * config.num_layers * (_colour_inputs(config, time_features) + hidden + 4)


def _colour_inputs(config: ModelConfig, time_features: bool) -> int:
    """Features entering a colour net's first product per pixel."""
    if config.grid is not None:
        return config.colour_in
    inputs = encoding_size(config.xy_octaves, 2)
    return inputs + (encoding_size(config.t_octaves, 1) if time_features else 0)
