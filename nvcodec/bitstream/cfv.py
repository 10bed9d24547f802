"""The .cfv file: a fitted CoordFlow and its canvas as container chunks (spec/cfv.md).

Chunks, in this order: ``HEAD`` (canvas and colour description), ``ARCH`` (the ModelConfig),
``FLOQ`` (the flow networks as range-coded int8 with float16 scales; version 1.0 files hold
``FLOW``, the flow networks as float16, instead), ``COLR`` (the colour networks, coded like
``FLOQ``), then optional ancillary chunks such as ``meta`` (UTF-8 JSON).

Every number read from a file is bounded before it sizes an allocation, and every defect is
reported as :class:`CfvError` (or :class:`CfvVersionError` for a file from a newer major
version).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from nvcodec.bitstream.container import (
    ByteReader,
    ByteWriter,
    file_version,
    is_critical,
    read_container,
    write_container,
)
from nvcodec.bitstream.entropy import decode_tensors, encode_tensors, read_model
from nvcodec.bitstream.quantize import QMAX, dequantize, quantize_per_channel
from nvcodec.errors import CfvError
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, StackedMLP, encoding_size

HEAD = b"HEAD"
ARCH = b"ARCH"
FLOW = b"FLOW"
FLOQ = b"FLOQ"
COLR = b"COLR"
META = b"meta"
CRITICAL_TYPES = (HEAD, ARCH, FLOW, FLOQ, COLR)
CRITICAL_ORDERS = ((HEAD, ARCH, FLOQ, COLR), (HEAD, ARCH, FLOW, COLR))
"""What a reader accepts: the order this version writes, and that of version 1.0 files."""

MAX_SIDE = 16384
MAX_FRAMES = 2**20
MAX_PARAMS = 2**25
"""Caps a hostile architecture chunk at 128 MiB of float32 weights."""
MAX_LAYERS = 8
MAX_WIDTH = 4096
MAX_DEPTH = 16
MAX_OCTAVES = 16
ACTIVATIONS = ("gelu", "silu", "relu")
"""Activation names by their code in the architecture chunk."""

# ITU-T H.273 code points of what the model's RGB means: sRGB on BT.709 primaries, full range.
COLOUR_PRIMARIES_BT709 = 1
TRANSFER_SRGB = 13
MATRIX_IDENTITY = 0
FULL_RANGE = 1

FLOW_DTYPE = "<f2"
SCALE_DTYPE = "<f2"


@dataclass(frozen=True)
class CfvInfo:
    """What a .cfv file says about itself, read without range decoding the weights."""

    version: tuple[int, int]
    min_reader_major: int
    canvas: Canvas
    colour: dict[str, int]
    config: ModelConfig
    params: int
    bytes: int
    chunk_bytes: dict[str, int]
    metadata: dict = field(default_factory=dict)

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole file over every pixel of every frame."""
        canvas = self.canvas
        return 8.0 * self.bytes / (canvas.width * canvas.height * canvas.num_frames)

    @property
    def bits_per_weight(self) -> float:
        """Bits of the whole file per model parameter."""
        return 8.0 * self.bytes / self.params

    def to_dict(self) -> dict:
        """A JSON-ready summary, the shape `cfv info --json` prints."""
        canvas = self.canvas
        return {
            "width": canvas.width,
            "height": canvas.height,
            "frames": canvas.num_frames,
            "fps": f"{canvas.fps.numerator}/{canvas.fps.denominator}",
            "duration": float(canvas.num_frames / canvas.fps),
            "params": self.params,
            "bytes": self.bytes,
            "bpp": self.bpp,
            "bits_per_weight": self.bits_per_weight,
            "version": f"{self.version[0]}.{self.version[1]}",
            "min_reader_version": self.min_reader_major,
            "colour": self.colour,
            "architecture": self.config.to_dict(),
            "chunks": self.chunk_bytes,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class DecodedCfv:
    """A decoded file: the model (eval mode, dequantized weights) and the file's description."""

    model: CoordFlow
    info: CfvInfo

    @property
    def canvas(self) -> Canvas:
        return self.info.canvas


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
    """Both nets as a file holds them (the flow's tensors are empty for a model without)."""

    flow: CodedTensors
    colour: CodedTensors


# --- Tensor order and counts, from the architecture alone. ---


def _mlp_sizes(config: ModelConfig) -> tuple[list[int], list[int]]:
    """Layer sizes of the flow net and of the colour net (as CoordFlow builds them)."""
    flow_in = encoding_size(config.flow_octaves, 1)
    flow = [flow_in] + [config.flow_width] * config.flow_depth + [4]
    colour = [config.colour_in] + [config.colour_width] * config.colour_depth + [4]
    return flow, colour


def _linears(sizes: list[int]) -> list[tuple[int, int]]:
    """(out, in) of each linear map of an MLP with these layer sizes."""
    return [(fan_out, fan_in) for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]


def parameter_count(config: ModelConfig) -> int:
    """Parameters of a CoordFlow of this configuration, computed without building it."""
    flow, colour = _mlp_sizes(config)
    per_layer = sum(o * (i + 1) for o, i in _linears(colour))
    if config.use_flow:
        per_layer += sum(o * (i + 1) for o, i in _linears(flow))
    return config.num_layers * per_layer


def _coded_shapes(sizes: list[int], layers: int) -> Iterator[tuple[int, ...]]:
    """Shapes of a net's coded tensors: for each layer, for each linear map, its weight
    [out, in] then its bias [out]."""
    for _ in range(layers):
        for fan_out, fan_in in _linears(sizes):
            yield (fan_out, fan_in)
            yield (fan_out,)


def colour_tensor_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the coded colour tensors in COLR order."""
    return list(_coded_shapes(_mlp_sizes(config)[1], config.num_layers))


def flow_tensor_shapes(config: ModelConfig) -> list[tuple[int, ...]]:
    """Shapes of the coded flow tensors in FLOQ order (none without a flow)."""
    if not config.use_flow:
        return []
    return list(_coded_shapes(_mlp_sizes(config)[0], config.num_layers))


def _legacy_flow_shapes(config: ModelConfig) -> Iterator[tuple[int, ...]]:
    """Shapes of the float16 tensors of a version 1.0 FLOW chunk: for each linear map, the
    stacked weights [layers, out, in] then the stacked biases [layers, out]."""
    if not config.use_flow:
        return
    for fan_out, fan_in in _linears(_mlp_sizes(config)[0]):
        yield (config.num_layers, fan_out, fan_in)
        yield (config.num_layers, fan_out)


# --- Model <-> stored weights. ---


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
        _coded(model.flow, per_map[:flow_maps]), _coded(model.colour, per_map[flow_maps:])
    )


def build_model(
    config: ModelConfig,
    flow: Sequence[np.ndarray],
    colour: Sequence[np.ndarray],
    device: str | torch.device = "cpu",
) -> CoordFlow:
    """A CoordFlow in eval mode holding exactly these float32 weights, each net's tensors in
    file order (for each layer, for each linear map, weight then bias)."""
    # Built on the meta device: no random initialisation to pay for or to disturb torch's RNG.
    with torch.device("meta"):
        model = CoordFlow(config)
    model = model.to_empty(device=device).eval()
    if model.flow is not None:
        _assign_net(model.flow, flow)
    _assign_net(model.colour, colour)
    return model


def _assign_net(mlp: StackedMLP, tensors: Sequence[np.ndarray]) -> None:
    values = iter(tensors)
    with torch.no_grad():
        for target in _per_layer_tensors(mlp):
            target.copy_(torch.from_numpy(np.ascontiguousarray(next(values))))


def quantized_model(model: CoordFlow, qmax: int | Sequence[int] = QMAX) -> CoordFlow:
    """A copy of `model` with exactly the weights a decoder of its .cfv file rebuilds."""
    device = next(model.parameters()).device
    weights = stored_weights(model, qmax)
    return build_model(model.config, weights.flow.values(), weights.colour.values(), device)


# --- Encoding. ---


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
    try:
        _check_canvas(canvas.width, canvas.height, canvas.num_frames, Fraction(canvas.fps))
        _check_config(model.config)
    except CfvError as exc:
        raise ValueError(f"cannot store this model: {exc}") from None
    weights = stored_weights(model, qmax)
    chunks = [
        (HEAD, _head_payload(canvas)),
        (ARCH, _arch_payload(model.config)),
        (FLOQ, _coded_payload(weights.flow)),
        (COLR, _coded_payload(weights.colour)),
    ]
    if metadata is not None:
        chunks.append((META, _meta_payload(metadata)))
    return write_container(chunks)


def replace_metadata(data: bytes, metadata: dict) -> bytes:
    """The same file with its `meta` chunk replaced; the critical chunks stay byte-identical."""
    chunks = [(t, p) for t, p in read_container(data, set(CRITICAL_TYPES)) if t != META]
    return write_container([*chunks, (META, _meta_payload(metadata))])


def _head_payload(canvas: Canvas) -> bytes:
    w = ByteWriter()
    fps = Fraction(canvas.fps)
    for value in (canvas.width, canvas.height, canvas.num_frames, fps.numerator, fps.denominator):
        w.u32(value)
    for value in (COLOUR_PRIMARIES_BT709, TRANSFER_SRGB, MATRIX_IDENTITY, FULL_RANGE):
        w.u8(value)
    return w.getvalue()


def _arch_payload(config: ModelConfig) -> bytes:
    w = ByteWriter()
    w.u8(config.num_layers)
    w.u16(config.colour_width)
    w.u8(config.colour_depth)
    w.u8(config.xy_octaves)
    w.u8(config.t_octaves)
    w.u8(int(config.use_flow))
    w.u16(config.flow_width)
    w.u8(config.flow_depth)
    w.u8(config.flow_octaves)
    w.u8(ACTIVATIONS.index(config.activation))
    return w.getvalue()


def _coded_payload(tensors: CodedTensors) -> bytes:
    headers, payload = encode_tensors(tensors.codes)
    w = ByteWriter()
    for scales, header in zip(tensors.scales, headers, strict=True):
        w.array(scales, SCALE_DTYPE)
        w.raw(header)
    w.raw(payload)
    return w.getvalue()


def _meta_payload(metadata: dict) -> bytes:
    return json.dumps(metadata, sort_keys=True, allow_nan=False, ensure_ascii=False).encode()


# --- Decoding. ---


@dataclass(frozen=True)
class _CodedChunk:
    """A FLOQ or COLR chunk before range decoding."""

    shapes: list[tuple[int, ...]]
    scales: list[np.ndarray]
    headers: list[bytes]
    payload: bytes

    def values(self) -> list[np.ndarray]:
        codes = decode_tensors(self.headers, self.shapes, self.payload)
        return CodedTensors(codes, self.scales).values()


@dataclass(frozen=True)
class _Parsed:
    info: CfvInfo
    flow: _CodedChunk | list[np.ndarray]
    """The FLOQ chunk, or the float32 values of a version 1.0 FLOW chunk in FLOQ order."""
    colour: _CodedChunk


def probe_cfv(data: bytes) -> CfvInfo:
    """Check a whole file (CRCs, bounds, sizes) and describe it, without range decoding."""
    return _parse(data).info


def decode_cfv(data: bytes, device: str | torch.device = "cpu") -> DecodedCfv:
    """Rebuild the model of a .cfv file; raises CfvError or CfvVersionError for bad files."""
    parsed = _parse(data)
    flow = parsed.flow if isinstance(parsed.flow, list) else parsed.flow.values()
    model = build_model(parsed.info.config, flow, parsed.colour.values(), device)
    return DecodedCfv(model, parsed.info)


def _parse(data: bytes) -> _Parsed:
    data = bytes(data)
    chunks = read_container(data, set(CRITICAL_TYPES))
    critical = tuple(chunk_type for chunk_type, _ in chunks if is_critical(chunk_type))
    if critical not in CRITICAL_ORDERS:
        found = ", ".join(t.decode() for t in critical) or "none"
        raise CfvError(
            f"critical chunks must be HEAD, ARCH, FLOQ (or FLOW), COLR once each; found {found}"
        )
    payloads = dict(chunks[::-1])  # the first of repeated ancillary chunks wins
    canvas, colour = _read_head(payloads[HEAD])
    config = _read_arch(payloads[ARCH])
    if FLOQ in payloads:
        flow: _CodedChunk | list[np.ndarray] = _read_coded(
            payloads[FLOQ], flow_tensor_shapes(config), "FLOQ"
        )
    else:
        flow = _read_legacy_flow(payloads[FLOW], config)
    coded_colour = _read_coded(payloads[COLR], colour_tensor_shapes(config), "COLR")
    major, minor, min_reader = file_version(data)
    chunk_bytes: dict[str, int] = {}
    for chunk_type, payload_bytes in chunks:
        name = chunk_type.decode()
        chunk_bytes[name] = chunk_bytes.get(name, 0) + len(payload_bytes)
    info = CfvInfo(
        version=(major, minor),
        min_reader_major=min_reader,
        canvas=canvas,
        colour=colour,
        config=config,
        params=parameter_count(config),
        bytes=len(data),
        chunk_bytes=chunk_bytes,
        metadata=_read_meta(payloads.get(META)),
    )
    return _Parsed(info, flow, coded_colour)


def _check_canvas(width: int, height: int, frames: int, fps: Fraction) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise CfvError(f"frame size {width}x{height} is outside 1..{MAX_SIDE}")
    if not 1 <= frames <= MAX_FRAMES:
        raise CfvError(f"frame count {frames} is outside 1..{MAX_FRAMES}")
    if fps <= 0:
        raise CfvError(f"frame rate {fps} is not positive")


def _read_head(payload: bytes) -> tuple[Canvas, dict[str, int]]:
    r = ByteReader(payload)
    width, height, frames = r.u32("width"), r.u32("height"), r.u32("frame count")
    num, den = r.u32("frame rate numerator"), r.u32("frame rate denominator")
    if num == 0 or den == 0:
        raise CfvError(f"frame rate {num}/{den} must have a non-zero numerator and denominator")
    colour = {
        "colour_primaries": r.u8("colour primaries"),
        "transfer_characteristics": r.u8("transfer characteristics"),
        "matrix_coefficients": r.u8("matrix coefficients"),
        "full_range": r.u8("full-range flag"),
    }
    r.expect_end("the HEAD chunk")
    if colour["full_range"] > 1:
        raise CfvError(f"full-range flag {colour['full_range']} is not 0 or 1")
    _check_canvas(width, height, frames, Fraction(num, den))
    return Canvas(width, height, frames, Fraction(num, den)), colour


def _check_config(config: ModelConfig) -> None:
    _check_arch_fields(config.to_dict())
    if config.activation not in ACTIVATIONS:
        raise CfvError(f"activation {config.activation!r} cannot be stored")
    params = parameter_count(config)
    if params > MAX_PARAMS:
        raise CfvError(f"the model has {params} parameters, more than the {MAX_PARAMS} allowed")


def _check_arch_fields(fields: dict) -> None:
    limits = {
        "num_layers": (1, MAX_LAYERS),
        "colour_width": (1, MAX_WIDTH),
        "colour_depth": (1, MAX_DEPTH),
        "xy_octaves": (0, MAX_OCTAVES),
        "t_octaves": (0, MAX_OCTAVES),
        "flow_width": (1, MAX_WIDTH),
        "flow_depth": (1, MAX_DEPTH),
        "flow_octaves": (0, MAX_OCTAVES),
    }
    for name, (low, high) in limits.items():
        if not low <= fields[name] <= high:
            raise CfvError(f"{name} {fields[name]} is outside {low}..{high}")


def _read_arch(payload: bytes) -> ModelConfig:
    r = ByteReader(payload)
    fields = {
        "num_layers": r.u8("layer count"),
        "colour_width": r.u16("colour width"),
        "colour_depth": r.u8("colour depth"),
        "xy_octaves": r.u8("xy octaves"),
        "t_octaves": r.u8("t octaves"),
        "use_flow": r.u8("flow flag"),
        "flow_width": r.u16("flow width"),
        "flow_depth": r.u8("flow depth"),
        "flow_octaves": r.u8("flow octaves"),
    }
    activation = r.u8("activation code")
    r.expect_end("the ARCH chunk")
    if fields["use_flow"] > 1:
        raise CfvError(f"flow flag {fields['use_flow']} is not 0 or 1")
    if activation >= len(ACTIVATIONS):
        raise CfvError(f"unknown activation code {activation}")
    # Bounded before ModelConfig sees them, so its own checks can never fire.
    _check_arch_fields(fields)
    config = ModelConfig(
        **{**fields, "use_flow": bool(fields["use_flow"])}, activation=ACTIVATIONS[activation]
    )
    _check_config(config)
    return config


def _read_legacy_flow(payload: bytes, config: ModelConfig) -> list[np.ndarray]:
    """The float32 values of a version 1.0 FLOW chunk, reordered as FLOQ orders them."""
    r = ByteReader(payload)
    stacked = []
    for shape in _legacy_flow_shapes(config):
        values = r.array(FLOW_DTYPE, math.prod(shape), "FLOW tensor").reshape(shape)
        if not np.all(np.isfinite(values)):
            raise CfvError("the FLOW chunk holds a value that is not finite")
        stacked.append(values.astype(np.float32))
    r.expect_end("the flow tensors")
    return [tensor[layer] for layer in range(config.num_layers) for tensor in stacked]


def _read_coded(payload: bytes, shapes: list[tuple[int, ...]], name: str) -> _CodedChunk:
    r = ByteReader(payload)
    scales, headers = [], []
    for shape in shapes:
        channel_scales = r.array(SCALE_DTYPE, shape[0] if len(shape) > 1 else 1, f"{name} scales")
        if not np.all(np.isfinite(channel_scales) & (channel_scales >= 0)):
            raise CfvError(f"the {name} chunk holds a scale that is negative or not finite")
        scales.append(channel_scales.astype(np.float32))
        headers.append(read_model(r).to_bytes())
    coded = r.raw(r.remaining, f"{name} payload")
    if len(coded) % 4:
        raise CfvError(f"range-coded payload of {len(coded)} bytes is not whole 32-bit words")
    return _CodedChunk(shapes, scales, headers, coded)


def _read_meta(payload: bytes | None) -> dict:
    """The metadata object; an unreadable one is ignored, as ancillary data may be."""
    if payload is None:
        return {}
    try:
        metadata = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return metadata if isinstance(metadata, dict) else {}
