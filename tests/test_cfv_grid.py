"""Grid models in the .cfv format (versions 1.2 and 1.4): the ARCH extension, the LATC chunk
(LATS before 1.4), their bounds, fuzzed bytes, and a round trip of the latents."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import edit_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream.cfv import ARCH, COLR, CRITICAL_TYPES, LATC, VERSION
from nvcodec.bitstream.codec import decode_cfv, encode_cfv, quantized_model
from nvcodec.bitstream.container import read_container, write_container
from nvcodec.bitstream.quantize import quantize_with_step
from nvcodec.bitstream.segments import probe_cfv
from nvcodec.decoder.render import render
from nvcodec.errors import CfvError
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import GridConfig, ModelConfig
from nvcodec.model.coordflow import CoordFlow
from nvcodec.testing.fuzz import decode_outcome, mutate, mutate_chunk

GRID_VECTOR = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "grid.cfv"
CANVAS = Canvas(14, 10, 5, Fraction(25))
CONFIG = ModelConfig(
    colour_width=8,
    colour_depth=1,
    xy_octaves=0,
    t_octaves=0,
    flow_width=4,
    flow_depth=1,
    flow_octaves=1,
    grid=GridConfig(width=20, height=14, levels=2, xyt_width=5, xyt_height=4, xyt_frames=2),
)


@pytest.fixture(scope="module")
def sample() -> bytes:
    return GRID_VECTOR.read_bytes()


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    return read_container(data, set(CRITICAL_TYPES), VERSION.major)[1]


def _without(data: bytes, chunk_type: bytes) -> bytes:
    return write_container(VERSION, [(t, p) for t, p in _chunks(data) if t != chunk_type])


def _replace(data: bytes, chunk_type: bytes, payload: bytes) -> bytes:
    chunks = [(t, payload if t == chunk_type else p) for t, p in _chunks(data)]
    return write_container(VERSION, chunks)


def _model(seed: int = 0) -> CoordFlow:
    torch.manual_seed(seed)
    model = CoordFlow(CONFIG).eval()
    with torch.no_grad():
        for tensor in model.grids.tensors():
            tensor.copy_(torch.randint(-40, 41, tensor.shape))
    return model


def test_latents_round_trip_exactly_and_render_the_same() -> None:
    model = _model()
    decoded = decode_cfv(encode_cfv(model, CANVAS))
    for ours, theirs in zip(model.grids.tensors(), decoded.model.grids.tensors(), strict=True):
        assert torch.equal(ours, theirs)
    times = torch.arange(CANVAS.num_frames, dtype=torch.float64)
    expected = np.stack(list(render(quantized_model(model), CANVAS, 28, 20, times)))
    frames = np.stack(list(render(decoded.model, CANVAS, 28, 20, times)))
    np.testing.assert_array_equal(frames, expected)


def test_probe_describes_the_grid(sample: bytes) -> None:
    info = probe_cfv(sample)
    assert info.version == (1, 5) and info.min_reader_major == 1
    assert info.config.representation == "grid"
    assert info.config.grid.levels == 3
    assert info.chunk_bytes["ARCH"] == 28 and "LATC" in info.chunk_bytes
    assert info.to_dict()["architecture"]["grid"]["width"] == 30


def test_a_grid_model_needs_its_latc_chunk(sample: bytes) -> None:
    with pytest.raises(CfvError, match="needs a LATC"):
        probe_cfv(_without(sample, LATC))


def test_latc_needs_a_grid_model(sample: bytes) -> None:
    arch = dict(_chunks(sample))[ARCH]
    with pytest.raises(CfvError, match="needs a grid model"):
        probe_cfv(_replace(sample, ARCH, arch[:12]))


def test_latc_comes_after_colr(sample: bytes) -> None:
    chunks = _chunks(sample)
    order = {t: i for i, (t, _) in enumerate(chunks)}
    chunks[order[LATC]], chunks[order[COLR]] = chunks[order[COLR]], chunks[order[LATC]]
    with pytest.raises(CfvError, match="critical chunks must be"):
        probe_cfv(write_container(VERSION, chunks))


def _grid_arch(sample: bytes, **fields: int) -> bytes:
    """The sample's ARCH with grid fields replaced (offsets of spec/cfv.md section 5.3)."""
    arch = bytearray(dict(_chunks(sample))[ARCH])
    layout = {
        "representation": (12, "B"),
        "levels": (13, "B"),
        "width": (14, "<H"),
        "height": (16, "<H"),
        "channels": (18, "B"),
        "frames": (23, "<I"),
        "margin": (27, "B"),
        "xy_octaves": (4, "B"),
    }
    for name, value in fields.items():
        offset, fmt = layout[name]
        struct.pack_into(fmt, arch, offset, value)
    return bytes(arch)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"representation": 2}, "unknown representation code 2"),
        ({"levels": 0}, "grid levels 0 is outside"),
        ({"levels": 17}, "grid levels 17"),
        ({"width": 0}, "grid width 0"),
        ({"channels": 17}, "grid xyt_channels 17"),
        ({"frames": 2**20 + 1}, "grid xyt_frames"),
        ({"margin": 101}, "grid margin_percent 101"),
        ({"xy_octaves": 2}, "octaves must be 0"),
        ({"width": 49152, "height": 49152}, "more than the 33554432 allowed"),
        ({"channels": 3}, "tensor model|LATC|latent coding"),
    ],
)
def test_hostile_grid_fields_are_refused(sample: bytes, fields: dict, message: str) -> None:
    with pytest.raises(CfvError, match=message):
        probe_cfv(_replace(sample, ARCH, _grid_arch(sample, **fields)))


def test_a_truncated_grid_extension_is_refused(sample: bytes) -> None:
    arch = dict(_chunks(sample))[ARCH]
    with pytest.raises(CfvError, match="truncated"):
        probe_cfv(_replace(sample, ARCH, arch[:-1]))


def test_stepped_codes_are_clipped_to_the_int8_range() -> None:
    codes, scales = quantize_with_step(np.array([[[-300.0, -1.4, 0.5, 2.6, 900.0]]]), 1.0)
    np.testing.assert_array_equal(codes, [[[-127, -1, 0, 3, 127]]])
    np.testing.assert_array_equal(scales, [1.0])
    with pytest.raises(ValueError, match="float16"):
        quantize_with_step(np.zeros((1, 2)), 0.1)


@pytest.fixture(scope="module", params=["grid.cfv", "grid-context.cfv", "grid-temporal.cfv"])
def fuzzed(request: pytest.FixtureRequest) -> bytes:
    """Grid files whose latents are coded with one model per grid, by context, and by context
    with the previous frame."""
    return (GRID_VECTOR.parent / request.param).read_bytes()


@settings(max_examples=120, deadline=None)
@given(edit_lists())
def test_damaged_grid_files_decode_cleanly_or_are_refused(fuzzed: bytes, edits) -> None:
    assert decode_outcome(mutate(fuzzed, edits)) in {"ok", "refused"}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 6), edit_lists())
def test_damaged_grid_chunks_with_valid_crcs_decode_cleanly_or_are_refused(
    fuzzed: bytes, chunk: int, edits
) -> None:
    assert decode_outcome(mutate_chunk(fuzzed, chunk, edits)) in {"ok", "refused"}
