"""The .cfv file: a canvas, an architecture and coded tensors as container chunks (spec/cfv.md).

Chunks, in this order: ``HEAD`` (canvas and colour description), ``ARCH`` (the ModelConfig),
``FLOQ`` (the flow networks as range-coded int8 with float16 scales; version 1.0 files hold
``FLOW``, the flow networks as float16, instead), ``COLR`` (the colour networks, coded like
``FLOQ``), for a grid model ``LATC`` (its latent grids, context coded; version 1.4, with the
previous frame 1.5; 1.2 and 1.3 files hold ``LATS``, coded like ``FLOQ``, instead), then
optional ancillary chunks such as ``meta`` (UTF-8 JSON). A segmented file (version 1.3,
nvcodec.bitstream.segments) holds a ``SIDX`` index after ``HEAD`` and one model per segment.

Every number read from a file is bounded before it sizes an allocation, and every defect is
reported as :class:`CfvError` (or :class:`CfvVersionError` for a file from a newer major
version).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from nvcodec.bitstream.bounds import (
    MAX_DEPTH,
    MAX_FRAMES,
    MAX_GRID_CHANNELS,
    MAX_GRID_LEVELS,
    MAX_GRID_MARGIN_PERCENT,
    MAX_GRID_SIDE,
    MAX_LAYERS,
    MAX_OCTAVES,
    MAX_PARAMS,
    MAX_SIDE,
    MAX_WIDTH,
)
from nvcodec.bitstream.container import Version, is_critical, read_container, write_container
from nvcodec.bitstream.context import (
    CONTEXT_CLASSES,
    TEMPORAL_CLASSES,
    GridModels,
    decode_grids,
    encode_grids,
)
from nvcodec.bitstream.entropy import TensorModel, decode_tensors, encode_tensors, read_model
from nvcodec.bitstream.fields import ByteReader, ByteWriter
from nvcodec.bitstream.tensors import (
    CodedTensors,
    StoredWeights,
    colour_tensor_shapes,
    flow_tensor_shapes,
    latent_tensor_shapes,
    legacy_flow_shapes,
)
from nvcodec.errors import CfvError
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ACTIVATION_NAMES, GridConfig, ModelConfig, parameter_count

VERSION = Version(major=1, minor=5, min_reader_major=1)
"""The version this writer writes; a reader of major version 1 reads every 1.x file."""

HEAD = b"HEAD"
ARCH = b"ARCH"
FLOW = b"FLOW"
FLOQ = b"FLOQ"
COLR = b"COLR"
LATS = b"LATS"
LATC = b"LATC"
SIDX = b"SIDX"
META = b"meta"
CRITICAL_TYPES = (HEAD, ARCH, FLOW, FLOQ, COLR, LATS, LATC, SIDX)
MLP_ORDERS = ((HEAD, ARCH, FLOQ, COLR), (HEAD, ARCH, FLOW, COLR))
"""What a reader accepts of an MLP model: the order this version writes, and that of version
1.0 files."""
GRID_ORDERS = ((HEAD, ARCH, FLOQ, COLR, LATC), (HEAD, ARCH, FLOQ, COLR, LATS))
"""What a reader accepts of a grid model: the order this version writes, and that of versions
1.2 and 1.3."""
LATENT_CHUNKS = (LATC, LATS)
LATENT_CODINGS = {0: 1, 1: CONTEXT_CLASSES, 2: TEMPORAL_CLASSES}
"""A LATC grid's coding byte and the model headers it is followed by: one model in C order
(0), one per context class by wavefronts (1), or one per context class with the previous
frame (2, version 1.5)."""
CODING_OF_MODELS = {count: coding for coding, count in LATENT_CODINGS.items()}
REPRESENTATION_GRID = 1
"""The code of the grid representation in an ARCH chunk's extension."""

ACTIVATIONS = ACTIVATION_NAMES
"""Activation names by their code in the architecture chunk."""

# ITU-T H.273 code points of what the model's RGB means: sRGB on BT.709 primaries, full range.
COLOUR_PRIMARIES_BT709 = 1
TRANSFER_SRGB = 13
MATRIX_IDENTITY = 0
FULL_RANGE = 1

FLOW_DTYPE = "<f2"
SCALE_DTYPE = "<f2"


@dataclass(frozen=True)
class SegmentInfo:
    """One segment of a file: it owns frames [first_frame, first_frame + frames), its model
    also covers `lead` frames before and `tail` after them; its model and the bytes of its
    chunks (a one-model file is one segment of all its frames and bytes)."""

    first_frame: int
    frames: int
    bytes: int
    params: int
    config: ModelConfig
    lead: int = 0
    tail: int = 0

    def to_dict(self) -> dict:
        return {
            "first_frame": self.first_frame,
            "frames": self.frames,
            "lead": self.lead,
            "tail": self.tail,
            "bytes": self.bytes,
            "params": self.params,
            "model": self.config.representation,
        }


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
    segments: tuple[SegmentInfo, ...] = ()
    """The file's segments in frame order; `config` is the first one's, `params` their sum."""

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
            "segments": [segment.to_dict() for segment in self.segments],
            "metadata": self.metadata,
        }


# --- Encoding. ---


def write_cfv(
    canvas: Canvas, config: ModelConfig, weights: StoredWeights, metadata: dict | None = None
) -> bytes:
    """The .cfv file of a model's architecture and stored weights; `metadata`
    (JSON-serialisable) goes to a `meta` chunk."""
    try:
        _check_canvas(canvas.width, canvas.height, canvas.num_frames, Fraction(canvas.fps))
        _check_config(config)
    except CfvError as exc:
        raise ValueError(f"cannot store this model: {exc}") from None
    chunks = [
        (HEAD, head_payload(canvas)),
        (ARCH, _arch_payload(config)),
        (FLOQ, _coded_payload(weights.flow)),
        (COLR, _coded_payload(weights.colour)),
    ]
    if config.grid is not None:
        chunks.append((LATC, _context_coded_payload(weights.latents)))
    if metadata is not None:
        chunks.append((META, meta_payload(metadata)))
    return write_container(VERSION, chunks)


def replace_metadata(data: bytes, metadata: dict) -> bytes:
    """The same file with its `meta` chunk replaced; the critical chunks stay byte-identical."""
    version, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    kept = [(chunk_type, p) for chunk_type, p in chunks if chunk_type != META]
    return write_container(version, [*kept, (META, meta_payload(metadata))])


def head_payload(canvas: Canvas) -> bytes:
    """The HEAD chunk of a canvas (its colour is always full-range sRGB on BT.709)."""
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
    grid = config.grid
    if grid is not None:
        w.u8(REPRESENTATION_GRID)
        w.u8(grid.levels)
        w.u16(grid.width)
        w.u16(grid.height)
        w.u8(grid.xyt_channels)
        w.u16(grid.xyt_width)
        w.u16(grid.xyt_height)
        w.u32(grid.xyt_frames)
        w.u8(grid.margin_percent)
    return w.getvalue()


def _coded_payload(tensors: CodedTensors) -> bytes:
    models, payload = encode_tensors(tensors.codes)
    w = ByteWriter()
    for scales, model in zip(tensors.scales, models, strict=True):
        w.array(scales, SCALE_DTYPE)
        w.raw(model.to_bytes())
    w.raw(payload)
    return w.getvalue()


def _context_coded_payload(tensors: CodedTensors) -> bytes:
    models, payload = encode_grids(tensors.codes)
    w = ByteWriter()
    for scales, grid_models in zip(tensors.scales, models, strict=True):
        w.array(scales, SCALE_DTYPE)
        listed = grid_models if isinstance(grid_models, list) else [grid_models]
        w.u8(CODING_OF_MODELS[len(listed)])
        for model in listed:
            w.raw(model.to_bytes())
    w.raw(payload)
    return w.getvalue()


def meta_payload(metadata: dict) -> bytes:
    """The meta chunk of a JSON-serialisable dictionary."""
    return json.dumps(metadata, sort_keys=True, allow_nan=False, ensure_ascii=False).encode()


@dataclass(frozen=True)
class CodedChunk:
    """A FLOQ, COLR or LATS chunk before range decoding, or a LATC chunk (`context`), each of
    whose tensors has one model or one per context class."""

    shapes: list[tuple[int, ...]]
    scales: list[np.ndarray]
    models: list[TensorModel] | list[GridModels]
    payload: bytes
    context: bool = False

    def values(self) -> list[np.ndarray]:
        """The dequantized float32 tensors in file order (range decoding happens here)."""
        decode = decode_grids if self.context else decode_tensors
        codes = decode(self.models, self.shapes, self.payload)
        return CodedTensors(codes, self.scales).values()


@dataclass(frozen=True)
class ParsedCfv:
    """A checked file: its description and its nets' tensors, not yet range decoded."""

    info: CfvInfo
    flow: CodedChunk | list[np.ndarray]
    """The FLOQ chunk, or the float32 values of a version 1.0 FLOW chunk in FLOQ order."""
    colour: CodedChunk
    latents: CodedChunk | None = None
    """The LATC (or LATS) chunk of a grid model."""

    def flow_values(self) -> list[np.ndarray]:
        return self.flow if isinstance(self.flow, list) else self.flow.values()

    def colour_values(self) -> list[np.ndarray]:
        return self.colour.values()

    def latent_values(self) -> list[np.ndarray]:
        return [] if self.latents is None else self.latents.values()


def parse_cfv(data: bytes) -> ParsedCfv:
    """Check a whole one-model file and split it into its description and its coded tensors;
    raises CfvError or CfvVersionError for bad files (nvcodec.bitstream.segments reads
    segmented files)."""
    data = bytes(data)
    version, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    critical = tuple(chunk_type for chunk_type, _ in chunks if is_critical(chunk_type))
    if SIDX in critical:
        raise CfvError("a segmented file: read its segments through its SIDX index")
    if critical not in (*MLP_ORDERS, *GRID_ORDERS):
        found = ", ".join(t.decode() for t in critical) or "none"
        raise CfvError(
            "critical chunks must be HEAD, ARCH, FLOQ (or FLOW), COLR once each, and LATC (or "
            f"LATS) after them for a grid model; found {found}"
        )
    payloads = dict(chunks[::-1])  # the first of repeated ancillary chunks wins
    canvas, colour = read_head(payloads[HEAD])
    config = _read_arch(payloads[ARCH])
    latent_chunk = next((t for t in LATENT_CHUNKS if t in payloads), None)
    if (config.grid is not None) != (latent_chunk is not None):
        raise CfvError(
            "a grid model needs a LATC (or LATS) chunk"
            if config.grid is not None
            else f"a {latent_chunk.decode()} chunk needs a grid model in ARCH"
        )
    if FLOQ in payloads:
        flow: CodedChunk | list[np.ndarray] = _read_coded(
            payloads[FLOQ], flow_tensor_shapes(config), "FLOQ"
        )
    else:
        flow = _read_legacy_flow(payloads[FLOW], config)
    coded_colour = _read_coded(payloads[COLR], colour_tensor_shapes(config), "COLR")
    latents = None
    if latent_chunk is not None:
        shapes = latent_tensor_shapes(config)
        latents = _read_coded(
            payloads[latent_chunk], shapes, latent_chunk.decode(), latent_chunk == LATC
        )
    params = parameter_count(config)
    chunk_bytes = payload_sizes(chunks)
    info = CfvInfo(
        version=(version.major, version.minor),
        min_reader_major=version.min_reader_major,
        canvas=canvas,
        colour=colour,
        config=config,
        params=params,
        bytes=len(data),
        chunk_bytes=chunk_bytes,
        metadata=read_meta(payloads.get(META)),
        segments=(SegmentInfo(0, canvas.num_frames, len(data), params, config),),
    )
    return ParsedCfv(info, flow, coded_colour, latents)


def payload_sizes(chunks: list[tuple[bytes, bytes]]) -> dict[str, int]:
    """The payload bytes of each chunk type, in order of first appearance."""
    sizes: dict[str, int] = {}
    for chunk_type, payload in chunks:
        sizes[chunk_type.decode()] = sizes.get(chunk_type.decode(), 0) + len(payload)
    return sizes


def _check_canvas(width: int, height: int, frames: int, fps: Fraction) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise CfvError(f"frame size {width}x{height} is outside 1..{MAX_SIDE}")
    if not 1 <= frames <= MAX_FRAMES:
        raise CfvError(f"frame count {frames} is outside 1..{MAX_FRAMES}")
    if fps <= 0:
        raise CfvError(f"frame rate {fps} is not positive")


def read_head(payload: bytes) -> tuple[Canvas, dict[str, int]]:
    """The canvas and colour description of a HEAD chunk, checked."""
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
    if config.grid is not None:
        _check_grid_fields(config.grid.__dict__)
        if config.xy_octaves or config.t_octaves:
            raise CfvError("a grid model has no Fourier features: its octaves must be 0")
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


def _check_grid_fields(fields: dict) -> None:
    limits = {
        "levels": (1, MAX_GRID_LEVELS),
        "width": (1, MAX_GRID_SIDE),
        "height": (1, MAX_GRID_SIDE),
        "xyt_channels": (1, MAX_GRID_CHANNELS),
        "xyt_width": (1, MAX_GRID_SIDE),
        "xyt_height": (1, MAX_GRID_SIDE),
        "xyt_frames": (1, MAX_FRAMES),
        "margin_percent": (0, MAX_GRID_MARGIN_PERCENT),
    }
    for name, (low, high) in limits.items():
        if not low <= fields[name] <= high:
            raise CfvError(f"grid {name} {fields[name]} is outside {low}..{high}")


def _read_grid(r: ByteReader) -> GridConfig:
    representation = r.u8("representation code")
    if representation != REPRESENTATION_GRID:
        raise CfvError(f"unknown representation code {representation}")
    fields = {
        "levels": r.u8("grid levels"),
        "width": r.u16("grid width"),
        "height": r.u16("grid height"),
        "xyt_channels": r.u8("x-y-t grid channels"),
        "xyt_width": r.u16("x-y-t grid width"),
        "xyt_height": r.u16("x-y-t grid height"),
        "xyt_frames": r.u32("x-y-t grid frames"),
        "margin_percent": r.u8("grid margin"),
    }
    _check_grid_fields(fields)
    return GridConfig(**fields)


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
    grid = _read_grid(r) if r.remaining else None
    r.expect_end("the ARCH chunk")
    if fields["use_flow"] > 1:
        raise CfvError(f"flow flag {fields['use_flow']} is not 0 or 1")
    if activation >= len(ACTIVATIONS):
        raise CfvError(f"unknown activation code {activation}")
    # Bounded before ModelConfig sees them, so its own checks can never fire.
    _check_arch_fields(fields)
    config = ModelConfig(
        **{**fields, "use_flow": bool(fields["use_flow"])},
        activation=ACTIVATIONS[activation],
        grid=grid,
    )
    _check_config(config)
    return config


def _read_legacy_flow(payload: bytes, config: ModelConfig) -> list[np.ndarray]:
    """The float32 values of a version 1.0 FLOW chunk, reordered as FLOQ orders them."""
    r = ByteReader(payload)
    stacked = []
    for shape in legacy_flow_shapes(config):
        values = r.array(FLOW_DTYPE, math.prod(shape), "FLOW tensor").reshape(shape)
        if not np.all(np.isfinite(values)):
            raise CfvError("the FLOW chunk holds a value that is not finite")
        stacked.append(values.astype(np.float32))
    r.expect_end("the flow tensors")
    return [tensor[layer] for layer in range(config.num_layers) for tensor in stacked]


def _read_coded(
    payload: bytes, shapes: list[tuple[int, ...]], name: str, context: bool = False
) -> CodedChunk:
    """A coded chunk's scales, model headers and payload: one model per tensor, or (a LATC
    chunk, `context`) after each tensor's coding byte, one or one per context class."""
    r = ByteReader(payload)
    scales, models = [], []
    for shape in shapes:
        channel_scales = r.array(SCALE_DTYPE, shape[0] if len(shape) > 1 else 1, f"{name} scales")
        if not np.all(np.isfinite(channel_scales) & (channel_scales >= 0)):
            raise CfvError(f"the {name} chunk holds a scale that is negative or not finite")
        scales.append(channel_scales.astype(np.float32))
        if not context:
            models.append(read_model(r))
            continue
        coding = r.u8("latent coding")
        if coding not in LATENT_CODINGS:
            raise CfvError(f"unknown latent coding {coding}")
        if coding == 0:
            models.append(read_model(r))
        else:
            models.append([read_model(r) for _ in range(LATENT_CODINGS[coding])])
    coded = r.raw(r.remaining, f"{name} payload")
    if len(coded) % 4:
        raise CfvError(f"range-coded payload of {len(coded)} bytes is not whole 32-bit words")
    return CodedChunk(shapes, scales, models, coded, context)


def read_meta(payload: bytes | None) -> dict:
    """The metadata object; an unreadable one is ignored, as ancillary data may be."""
    if payload is None:
        return {}
    try:
        metadata = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return metadata if isinstance(metadata, dict) else {}
