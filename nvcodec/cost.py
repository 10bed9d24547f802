"""Exact arithmetic cost of a CoordFlow model, for speed reports against the machine's ceiling.

A multiply-accumulate (MAC) is two FLOPs. Training counts six FLOPs per MAC: the forward
product, and in the backward pass the gradients with respect to the input (needed down to the
first layer, whose input gradient drives the flow) and to the weights.
"""

from __future__ import annotations

from nvcodec.model import ModelConfig, encoding_size


def colour_macs_per_pixel(config: ModelConfig) -> int:
    """MACs that every pixel pays in the colour networks (all layers together)."""
    xy_features = encoding_size(config.xy_octaves, 2)
    width, depth = config.colour_width, config.colour_depth
    per_layer = xy_features * width + (depth - 1) * width * width + width * 4
    return config.num_layers * per_layer


def frame_macs(config: ModelConfig) -> int:
    """MACs computed once per frame: the flow networks and the time features' projection."""
    t_features = encoding_size(config.t_octaves, 1)
    projection = t_features * config.colour_width
    flow = 0
    if config.use_flow:
        sizes = [encoding_size(config.flow_octaves, 1)]
        sizes += [config.flow_width] * config.flow_depth + [4]
        flow = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return config.num_layers * (projection + flow)


def render_flops_per_pixel(config: ModelConfig, pixels_per_frame: int) -> float:
    """Forward FLOPs per rendered pixel, the per-frame work spread over the frame's pixels."""
    return 2.0 * (colour_macs_per_pixel(config) + frame_macs(config) / pixels_per_frame)


def train_flops_per_sample(config: ModelConfig, batch_size: int, num_frames: int) -> float:
    """Forward and backward FLOPs per pixel sample; each step evaluates every frame's terms."""
    per_step_frames = frame_macs(config) * num_frames
    return 6.0 * (colour_macs_per_pixel(config) + per_step_frames / batch_size)
