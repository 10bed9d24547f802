"""A model's tensors in file order, as the FLOQ and COLR chunks hold them: for each layer, for
each linear map, the weight [out, in] then the bias [out], as int8 codes with float16 scales;
and a grid model's latents as the LATS chunk holds them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from nvcodec.bitstream.quantize import dequantize
from nvcodec.model.config import ModelConfig, linear_shapes


@dataclass(frozen=True)
class CodedTensors:
    """One net's tensors as a file holds them: int8 codes and their float16 scales (as
    float32), for each layer, for each linear map, the weight [out, in] then the bias [out]."""

    codes: list[np.ndarray]
    scales: list[np.ndarray]

    def values(self) -> list[np.ndarray]:
        """The dequantized float32 tensors, in the same order."""
        return [dequantize(q, s, axis=0) for q, s in zip(self.codes, self.scales, strict=True)]


@dataclass(frozen=True)
class StoredWeights:
    """Both nets as a file holds them (the flow's tensors are empty for a model without), and
    the latents of a grid model (empty for an MLP model)."""

    flow: CodedTensors
    colour: CodedTensors
    latents: CodedTensors = CodedTensors([], [])


def _coded_shapes(sizes: list[int], layers: int) -> Iterator[tuple[int, ...]]:
    """Shapes of a net's coded tensors: for each layer, for each linear map, its weight
    [out, in] then its bias [out]."""
    for _ in range(layers):
        for fan_out, fan_in in linear_shapes(sizes):
            yield (fan_out, fan_in)
            yield (fan_out,)


def colour_tensor_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the coded colour tensors in COLR order."""
    return list(_coded_shapes(config.colour_sizes, config.num_layers))


def flow_tensor_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the coded flow tensors in FLOQ order (none without a flow)."""
    if not config.use_flow:
        return []
    return list(_coded_shapes(config.flow_sizes, config.num_layers))


def latent_tensor_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the coded latent grids in LATS order: for each layer, each 2-D level finest
    first [1, h, w], then the x-y-t grid [C, T', h, w] (none for an MLP model)."""
    grid = config.grid
    if grid is None:
        return []
    per_layer = [(1, h, w) for h, w in grid.level_sizes] + [grid.xyt_shape]
    return per_layer * config.num_layers


def legacy_flow_shapes(config: ModelConfig) -> Iterator[tuple[int, ...]]:
    """Shapes of the float16 tensors of a version 1.0 FLOW chunk: for each linear map, the
    stacked weights [layers, out, in] then the stacked biases [layers, out]."""
    if not config.use_flow:
        return
    for fan_out, fan_in in linear_shapes(config.flow_sizes):
        yield (config.num_layers, fan_out, fan_in)
        yield (config.num_layers, fan_out)
