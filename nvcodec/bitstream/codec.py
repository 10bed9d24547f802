"""A fitted CoordFlow to .cfv bytes and back: the model's tensors quantized as the file stores
them, and a model rebuilt from a file's tensors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nvcodec.bitstream.cfv import CfvInfo, ParsedCfv, parse_cfv, write_cfv
from nvcodec.bitstream.quantize import QMAX, quantize_per_channel, quantize_with_step
from nvcodec.bitstream.tensors import CodedTensors, StoredWeights
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ModelConfig
from nvcodec.model.coordflow import CoordFlow, StackedMLP
from nvcodec.model.latent_grid import LatentGrids


@dataclass(frozen=True)
class DecodedCfv:
    """A decoded file: the model (eval mode, dequantized weights) and the file's description."""

    model: CoordFlow
    info: CfvInfo

    @property
    def canvas(self) -> Canvas:
        return self.info.canvas


def _per_layer_tensors(mlp: StackedMLP) -> Iterator[torch.Tensor]:
    """Each layer's weight [out, in] and bias [out] of every linear map, in file order."""
    for layer in range(mlp.weights[0].shape[0]):
        for weight, bias in zip(mlp.weights, mlp.biases, strict=True):
            yield weight[layer].detach()
            yield bias[layer, 0].detach()


def _coded(mlp: StackedMLP | None, qmax: Sequence[int]) -> CodedTensors:
    """A net's tensors quantized: weights of map i with qmax[i], biases with the full range."""
    if mlp is None:
        return CodedTensors([], [])
    limits = [limit for map_qmax in qmax for limit in (map_qmax, QMAX)]
    layers = mlp.weights[0].shape[0]
    pairs = [
        quantize_per_channel(tensor.float().cpu().numpy(), 0, limit)
        for tensor, limit in zip(_per_layer_tensors(mlp), limits * layers, strict=True)
    ]
    return CodedTensors([q for q, _ in pairs], [s for _, s in pairs])


def stored_weights(model: CoordFlow, qmax: int | Sequence[int] = QMAX) -> StoredWeights:
    """Quantize a model the way the file stores it.

    `qmax` bounds the codes of the linear maps' weights: one value for every map, or one per
    map in `CoordFlow.linear_weights` order (the flow net's maps, then the colour net's).
    Biases always use the whole int8 range: they are about 1% of the parameters, and
    rounding them costs the most PSNR per bit saved.
    """
    maps = len(model.linear_weights())
    per_map = [qmax] * maps if isinstance(qmax, int) else list(qmax)
    if len(per_map) != maps:
        raise ValueError(f"need one qmax per linear map ({maps}), got {len(per_map)}")
    flow_maps = 0 if model.flow is None else len(model.flow.weights)
    return StoredWeights(
        _coded(model.flow, per_map[:flow_maps]),
        _coded(model.colour, per_map[flow_maps:]),
        _coded_latents(model.grids),
    )


def _per_layer_latents(grids: LatentGrids) -> Iterator[torch.Tensor]:
    """Each layer's grids in file order: the 2-D levels finest first, then the x-y-t grid."""
    for layer in range(grids.volume.shape[0]):
        for tensor in grids.tensors():
            yield tensor[layer].detach()


def _coded_latents(grids: LatentGrids | None) -> CodedTensors:
    """Latents rounded to int8 codes of step 1 (their scale), as the fit left them."""
    if grids is None:
        return CodedTensors([], [])
    pairs = [
        quantize_with_step(tensor.float().cpu().numpy(), 1.0)
        for tensor in _per_layer_latents(grids)
    ]
    return CodedTensors([q for q, _ in pairs], [s for _, s in pairs])


def build_model(
    config: ModelConfig,
    weights: StoredWeights,
    device: str | torch.device = "cpu",
) -> CoordFlow:
    """A CoordFlow in eval mode holding exactly the dequantized stored weights."""
    return model_from_values(
        config, weights.flow.values(), weights.colour.values(), weights.latents.values(), device
    )


def model_from_values(
    config: ModelConfig,
    flow: Sequence[np.ndarray],
    colour: Sequence[np.ndarray],
    latents: Sequence[np.ndarray],
    device: str | torch.device = "cpu",
) -> CoordFlow:
    """A CoordFlow in eval mode holding exactly these float32 tensors, each in file order (for
    each layer, for each linear map, weight then bias; latents as `latent_tensor_shapes`)."""
    # Built on the meta device: no random initialisation to pay for or to disturb torch's RNG.
    with torch.device("meta"):
        model = CoordFlow(config)
    model = model.to_empty(device=device).eval()
    if model.flow is not None:
        _assign(_per_layer_tensors(model.flow), flow)
    _assign(_per_layer_tensors(model.colour), colour)
    if model.grids is not None:
        _assign(_per_layer_latents(model.grids), latents)
    return model


def _assign(targets: Iterator[torch.Tensor], tensors: Sequence[np.ndarray]) -> None:
    values = iter(tensors)
    with torch.no_grad():
        for target in targets:
            target.copy_(torch.from_numpy(np.ascontiguousarray(next(values))))


def quantized_model(model: CoordFlow, qmax: int | Sequence[int] = QMAX) -> CoordFlow:
    """A copy of `model` with exactly the weights a decoder of its .cfv file rebuilds."""
    device = next(model.parameters()).device
    return build_model(model.config, stored_weights(model, qmax), device)


def encode_cfv(
    model: CoordFlow,
    canvas: Canvas,
    metadata: dict | None = None,
    qmax: int | Sequence[int] = QMAX,
) -> bytes:
    """The .cfv file of a fitted model; `metadata` (JSON-serialisable) goes to a `meta` chunk.

    `qmax` is the largest code of the weights, for all linear maps or per map (see
    `stored_weights`): 127 uses the whole int8 range, smaller values a coarser quantization
    step that costs fewer bits (see nvcodec.encoder.ratecontrol).
    """
    return write_cfv(canvas, model.config, stored_weights(model, qmax), metadata)


def decode_cfv(data: bytes, device: str | torch.device = "cpu") -> DecodedCfv:
    """Rebuild the model of a one-model .cfv file; raises CfvError or CfvVersionError for bad
    files."""
    return decode_parsed(parse_cfv(data), device)


def decode_parsed(parsed: ParsedCfv, device: str | torch.device = "cpu") -> DecodedCfv:
    """Rebuild the model of a checked file (range decoding happens here)."""
    model = model_from_values(
        parsed.info.config,
        parsed.flow_values(),
        parsed.colour_values(),
        parsed.latent_values(),
        device,
    )
    return DecodedCfv(model, parsed.info)
