"""The .cfv bitstream: round trips, probing, version and bound checks, and fuzzing."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import edit_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream import cfv
from nvcodec.bitstream.cfv import (
    ARCH,
    COLR,
    CRITICAL_TYPES,
    FLOQ,
    FLOW,
    HEAD,
    META,
    VERSION,
    replace_metadata,
)
from nvcodec.bitstream.codec import decode_cfv, encode_cfv, quantized_model, stored_weights
from nvcodec.bitstream.container import SIGNATURE, read_container, write_container
from nvcodec.bitstream.entropy import encode_tensors
from nvcodec.bitstream.segments import probe_cfv
from nvcodec.decoder.render import render
from nvcodec.errors import CfvError, CfvVersionError
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import parameter_count
from nvcodec.model.coordflow import CoordFlow, ModelConfig, count_parameters
from nvcodec.testing.fuzz import decode_outcome, mutate, mutate_chunk

LEGACY_VECTOR = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "1.0" / "two-layer.cfv"

CANVAS = Canvas(16, 12, 4, Fraction(30000, 1001))
CONFIG = ModelConfig(
    colour_width=12, colour_depth=2, xy_octaves=2, t_octaves=1, flow_width=6, flow_octaves=1
)


def _model(config: ModelConfig = CONFIG, seed: int = 0) -> CoordFlow:
    torch.manual_seed(seed)
    model = CoordFlow(config).eval()
    if model.flow is not None:
        # A fitted flow is not the identity; make the stored flow weights matter.
        with torch.no_grad():
            model.flow.weights[-1].normal_(0, 0.05)
            model.flow.biases[-1].normal_(0, 0.05)
    return model


@pytest.fixture(scope="module")
def sample() -> bytes:
    return encode_cfv(_model(), CANVAS, {"encoder": "test", "psnr": 30.5})


@pytest.fixture(scope="module")
def legacy() -> bytes:
    """A version 1.0 file, whose flow nets are float16 in a FLOW chunk."""
    return LEGACY_VECTOR.read_bytes()


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    return read_container(data, set(CRITICAL_TYPES), VERSION.major)[1]


def _replace(data: bytes, chunk_type: bytes, payload: bytes) -> bytes:
    return write_container(
        VERSION, [(t, payload if t == chunk_type else p) for t, p in _chunks(data)]
    )


def _frames(model: CoordFlow, width: int, height: int) -> np.ndarray:
    times = torch.arange(CANVAS.num_frames, dtype=torch.float64)
    return np.stack(list(render(model, CANVAS, width, height, times)))


# --- Round trips. ---


def test_decoded_model_is_exactly_the_quantized_model(sample: bytes) -> None:
    expected = quantized_model(_model()).state_dict()
    decoded = decode_cfv(sample)
    assert not decoded.model.training
    state = decoded.model.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)
    np.testing.assert_array_equal(
        _frames(decoded.model, 32, 24), _frames(quantized_model(_model()), 32, 24)
    )
    assert decoded.canvas == CANVAS


def test_quantization_changes_the_picture_little(sample: bytes) -> None:
    original, decoded = _frames(_model(), 16, 12), _frames(decode_cfv(sample).model, 16, 12)
    assert np.abs(original.astype(int) - decoded).max() <= 2


def test_both_nets_are_stored_as_int8_rows() -> None:
    quantized = quantized_model(_model())
    for weight in quantized.linear_weights():
        for layer in weight.detach():
            steps = layer.abs().amax(dim=1, keepdim=True) / 127
            codes = layer / steps
            torch.testing.assert_close(codes, codes.round(), atol=1e-3, rtol=0)


def test_each_map_has_its_own_step_and_biases_keep_the_full_range() -> None:
    model = _model()
    flow_maps, colour_maps = len(model.flow.weights), len(model.colour.weights)
    per_map = tuple(range(15, 15 + 10 * (flow_maps + colour_maps), 10))
    stored = stored_weights(model, per_map)
    for net, limits in ((stored.flow, per_map[:flow_maps]), (stored.colour, per_map[flow_maps:])):
        maps = len(limits)
        assert len(net.codes) == 2 * maps * CONFIG.num_layers
        for layer in range(CONFIG.num_layers):
            for index, limit in enumerate(limits):
                start = 2 * (layer * maps + index)
                weight, bias = net.codes[start : start + 2]
                assert np.abs(weight.astype(int)).max() == limit
                assert np.abs(bias.astype(int)).max() == 127
    with pytest.raises(ValueError, match="one qmax per linear map"):
        stored_weights(model, per_map[:-1])


def test_encoding_is_deterministic_and_leaves_the_rng_alone(sample: bytes) -> None:
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    decode_cfv(sample)
    assert torch.equal(torch.rand(1), before)
    assert encode_cfv(_model(), CANVAS, {"encoder": "test", "psnr": 30.5}) == sample


def test_no_flow_model_round_trips() -> None:
    config = ModelConfig(num_layers=1, colour_width=8, colour_depth=1, use_flow=False)
    model = _model(config)
    data = encode_cfv(model, CANVAS)
    assert dict(_chunks(data))[FLOQ] == b""
    decoded = decode_cfv(data).model
    assert decoded.flow is None and decoded.config == config


architectures = st.builds(
    ModelConfig,
    num_layers=st.integers(1, 3),
    colour_width=st.integers(1, 9),
    colour_depth=st.integers(1, 3),
    xy_octaves=st.integers(0, 4),
    t_octaves=st.integers(0, 3),
    flow_width=st.integers(1, 5),
    flow_depth=st.integers(1, 2),
    flow_octaves=st.integers(0, 3),
    use_flow=st.booleans(),
    activation=st.sampled_from(["gelu", "silu", "relu"]),
)
canvases = st.builds(
    Canvas,
    width=st.integers(1, 16384),
    height=st.integers(1, 16384),
    num_frames=st.integers(1, 2**20),
    fps=st.builds(Fraction, st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1)),
).filter(lambda c: c.fps.numerator < 2**32 and c.fps.denominator < 2**32)


@settings(max_examples=60, deadline=None)
@given(architectures, canvases, st.integers(0, 2**16))
def test_round_trip_of_arbitrary_headers_and_architectures(config, canvas, seed) -> None:
    model = _model(config, seed)
    data = encode_cfv(model, canvas, {"seed": seed})
    info = probe_cfv(data)
    assert info.canvas == canvas and info.config == config
    assert info.params == parameter_count(config) == count_parameters(model)
    assert info.metadata == {"seed": seed} and info.bytes == len(data)
    decoded = decode_cfv(data).model.state_dict()
    expected = quantized_model(model).state_dict()
    assert all(torch.equal(decoded[k], expected[k]) for k in expected)


# --- Probing and metadata. ---


def test_probe_reads_the_header_without_range_decoding(sample: bytes, monkeypatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("probe must not range decode")

    monkeypatch.setattr(cfv, "decode_tensors", refuse)
    info = probe_cfv(sample)
    assert (info.canvas, info.config) == (CANVAS, CONFIG)
    assert info.version == (1, 5) and info.min_reader_major == 1
    assert info.colour == {
        "colour_primaries": 1,
        "transfer_characteristics": 13,
        "matrix_coefficients": 0,
        "full_range": 1,
    }
    assert info.metadata == {"encoder": "test", "psnr": 30.5}
    assert sum(info.chunk_bytes.values()) + 8 + 10 + 12 * 6 == len(sample)
    summary = info.to_dict()
    assert summary["fps"] == "30000/1001" and summary["params"] == count_parameters(_model())
    assert summary["bpp"] == pytest.approx(8 * len(sample) / (16 * 12 * 4))


def test_replacing_metadata_keeps_the_critical_chunks(sample: bytes) -> None:
    updated = replace_metadata(sample, {"psnr": 31.0})
    assert probe_cfv(updated).metadata == {"psnr": 31.0}
    critical = [c for c in _chunks(sample) if c[0] != META]
    assert [c for c in _chunks(updated) if c[0] != META] == critical


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[1, 2]", b"{", b"[" * 100_000])
def test_unreadable_metadata_is_ignored(sample: bytes, payload: bytes) -> None:
    assert decode_cfv(_replace(sample, META, payload)).info.metadata == {}


def test_unknown_ancillary_chunks_are_skipped(sample: bytes) -> None:
    chunks = _chunks(sample)
    data = write_container(VERSION, [(b"zzzz", b"future"), *chunks, (b"xtra", b"\x00" * 9)])
    assert probe_cfv(data).chunk_bytes["zzzz"] == 6
    decode_cfv(data)


# --- Versions and hostile fields. ---


def _with_version(data: bytes, major: int, minor: int, min_reader: int) -> bytes:
    fields = struct.pack("<HHH", major, minor, min_reader)
    header = SIGNATURE + fields + struct.pack("<I", zlib.crc32(fields))
    return header + data[len(header) :]


def test_newer_major_version_is_refused(sample: bytes) -> None:
    with pytest.raises(CfvVersionError, match="needs cfv reader version 2"):
        decode_cfv(_with_version(sample, 2, 0, 2))
    with pytest.raises(CfvVersionError):
        probe_cfv(_with_version(sample, 2, 0, 2))
    assert probe_cfv(_with_version(sample, 1, 7, 1)).version == (1, 7)


def _head(width=16, height=12, frames=4, num=24, den=1, colour=(1, 13, 0, 1)) -> bytes:
    return struct.pack("<5I4B", width, height, frames, num, den, *colour)


def _arch(layers=2, cw=12, cd=2, xy=2, t=1, flow=1, fw=6, fd=2, fo=1, act=0) -> bytes:
    return struct.pack("<BHBBBBHBBB", layers, cw, cd, xy, t, flow, fw, fd, fo, act)


def test_the_chunk_layouts_match_the_spec(sample: bytes) -> None:
    chunks = dict(_chunks(sample))
    assert chunks[HEAD] == _head(num=30000, den=1001)
    assert chunks[ARCH] == _arch()
    stored = stored_weights(_model())
    for chunk_type, net in ((FLOQ, stored.flow), (COLR, stored.colour)):
        models, payload = encode_tensors(net.codes)
        pairs = zip(net.scales, models, strict=True)
        tensors = [s.astype("<f2").tobytes() + m.to_bytes() for s, m in pairs]
        assert chunks[chunk_type] == b"".join(tensors) + payload


def test_version_1_0_files_with_float16_flow_nets_decode(legacy: bytes) -> None:
    info = probe_cfv(legacy)
    assert info.version == (1, 0) and FLOW in dict(_chunks(legacy))
    flow_params = parameter_count(info.config) - parameter_count(
        ModelConfig(**{**info.config.to_dict(), "use_flow": False})
    )
    assert info.chunk_bytes["FLOW"] == 2 * flow_params
    flow = decode_cfv(legacy).model.flow
    values = np.frombuffer(dict(_chunks(legacy))[FLOW], "<f2").astype(np.float32)
    pairs = zip(flow.weights, flow.biases, strict=True)
    stacked = [t.detach().numpy().ravel() for pair in pairs for t in pair]
    np.testing.assert_array_equal(np.concatenate(stacked), values)


@pytest.mark.parametrize(
    ("chunk_type", "payload", "message"),
    [
        (HEAD, _head(width=0), "frame size 0x12"),
        (HEAD, _head(height=16385), "frame size 16x16385"),
        (HEAD, _head(frames=0), "frame count 0"),
        (HEAD, _head(frames=2**20 + 1), "frame count 1048577"),
        (HEAD, _head(num=0), "frame rate 0/1"),
        (HEAD, _head(den=0), "frame rate 24/0"),
        (HEAD, _head(colour=(1, 13, 0, 2)), "full-range flag 2"),
        (HEAD, _head()[:-1], "truncated full-range flag"),
        (HEAD, _head() + b"\x00", "unexpected bytes after the HEAD chunk"),
        (ARCH, _arch(layers=0), "num_layers 0 is outside 1..8"),
        (ARCH, _arch(layers=9), "num_layers 9"),
        (ARCH, _arch(cw=0), "colour_width 0"),
        (ARCH, _arch(cw=4097), "colour_width 4097"),
        (ARCH, _arch(cd=17), "colour_depth 17"),
        (ARCH, _arch(xy=17), "xy_octaves 17 is outside 0..16"),
        (ARCH, _arch(fw=0), "flow_width 0"),
        (ARCH, _arch(fd=0), "flow_depth 0"),
        (ARCH, _arch(flow=2), "flow flag 2"),
        (ARCH, _arch(act=3), "unknown activation code 3"),
        (ARCH, _arch(layers=8, cw=4096, cd=16), "more than the 33554432 allowed"),
        (ARCH, _arch(cw=13), "tensor model|COLR"),
        (ARCH, _arch(cd=3), "tensor model|COLR"),
        (ARCH, _arch(fw=7), "tensor model|FLOQ"),
        (ARCH, _arch()[:-1], "truncated activation code"),
        (FLOQ, b"\x00\x7c" + b"\x00" * 200, "negative or not finite"),
        (FLOQ, b"", "truncated FLOQ scales"),
        (COLR, b"\x00\xbc" + b"\x00" * 200, "negative or not finite"),
        (COLR, b"", "truncated COLR scales"),
    ],
)
def test_hostile_fields_are_refused(sample, chunk_type, payload, message) -> None:
    data = _replace(sample, chunk_type, payload)
    with pytest.raises(CfvError, match=message):
        probe_cfv(data)


def _legacy_arch(**changes: int) -> bytes:
    """The ARCH chunk of the version 1.0 vector two-layer.cfv, with some fields changed."""
    return _arch(**{"cw": 16, "xy": 3, "t": 2, "fw": 8, "fo": 2, **changes})


@pytest.mark.parametrize(
    ("chunk_type", "payload", "message"),
    [
        (ARCH, _legacy_arch(fw=9), "truncated FLOW tensor"),
        (ARCH, _legacy_arch(fw=7), "unexpected bytes after the flow tensors"),
        (ARCH, _legacy_arch(flow=0), "unexpected bytes after the flow tensors"),
        (FLOW, b"\x00\x7c" * 200, "not finite"),
        (FLOW, b"", "truncated FLOW tensor"),
    ],
)
def test_hostile_fields_of_version_1_0_files_are_refused(
    legacy, chunk_type, payload, message
) -> None:
    assert dict(_chunks(legacy))[ARCH] == _legacy_arch()
    data = _replace(legacy, chunk_type, payload)
    with pytest.raises(CfvError, match=message):
        probe_cfv(data)


def test_colour_payload_must_be_whole_words(sample: bytes) -> None:
    data = _replace(sample, COLR, dict(_chunks(sample))[COLR] + b"\x00")
    with pytest.raises(CfvError, match="not whole 32-bit words"):
        decode_cfv(data)


@pytest.mark.parametrize(
    "order",
    [
        (HEAD, ARCH, COLR, FLOQ),
        (ARCH, HEAD, FLOQ, COLR),
        (HEAD, ARCH, FLOQ),
        (HEAD, ARCH, FLOW, FLOQ, COLR),
        (HEAD,) * 5,
        (),
    ],
    ids=["swapped", "arch-first", "missing", "both-flows", "repeated", "empty"],
)
def test_critical_chunks_come_once_in_order(sample: bytes, order) -> None:
    chunks = {**dict(_chunks(sample)), FLOW: b""}
    with pytest.raises(CfvError, match=r"critical chunks must be HEAD, ARCH, FLOQ \(or FLOW\)"):
        decode_cfv(write_container(VERSION, [(t, chunks[t]) for t in order]))


def test_unstorable_models_are_refused_at_encoding() -> None:
    with pytest.raises(ValueError, match="frame count 0"):
        encode_cfv(_model(), Canvas(16, 12, 0, Fraction(24)))
    for value, message in ((1e10, "too large for float16 scales"), (np.inf, "must be finite")):
        model = _model()
        with torch.no_grad():
            model.flow.weights[0][0, 0, 0] = value
        with pytest.raises(ValueError, match=message):
            encode_cfv(model, CANVAS)


# --- Fuzzing: only a clean decode or CfvError is acceptable. ---


@settings(max_examples=150, deadline=None)
@given(edit_lists())
def test_damaged_files_give_a_clean_decode_or_cfv_error(sample: bytes, edits) -> None:
    assert decode_outcome(mutate(sample, edits)) in {"ok", "refused"}


@settings(max_examples=250, deadline=None)
@given(st.integers(0, 5), edit_lists())
def test_damaged_chunks_with_valid_crcs_give_a_clean_decode_or_cfv_error(
    sample: bytes, chunk: int, edits
) -> None:
    assert decode_outcome(mutate_chunk(sample, chunk, edits)) in {"ok", "refused"}


def test_every_truncation_is_refused(sample: bytes) -> None:
    for n in range(0, len(sample), 7):
        with pytest.raises(CfvError):
            probe_cfv(sample[:n])
