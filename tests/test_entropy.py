"""Range coding of int8 tensors: round trips, model choice, header validation, and agreement
with the independent decoder written from spec/cfv.md (spec/reference/range_decoder.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nvcodec.bitstream.entropy import (
    ConstantModel,
    HistogramModel,
    LaplaceModel,
    decode_tensors,
    encode_tensors,
    estimated_bits,
    fit_model,
    frequencies,
    read_model,
)
from nvcodec.bitstream.fields import ByteReader
from nvcodec.errors import CfvError
from spec.reference.range_decoder import decode_tensors as decode_tensors_from_spec
from spec.reference.range_decoder import frequencies as frequencies_from_spec

codes = arrays(
    np.int8,
    array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12),
    elements=st.integers(-127, 127),
)
# Few distinct values, so constant and histogram models get exercised as well.
narrow_codes = arrays(
    np.int8,
    array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=30),
    elements=st.sampled_from([-127, -1, 0, 3, 127]),
)


def _round_trip(tensors: list[np.ndarray]) -> list[np.ndarray]:
    models, payload = encode_tensors(tensors)
    assert len(models) == len(tensors) and len(payload) % 4 == 0
    headers = b"".join(model.to_bytes() for model in models)
    reader = ByteReader(headers)
    assert [read_model(reader) for _ in models] == models  # the headers read back as written
    reader.expect_end("the tensor model headers")
    out = decode_tensors(models, [t.shape for t in tensors], payload)
    for a, b in zip(tensors, out, strict=True):
        assert b.dtype == np.int8 and b.shape == a.shape and np.array_equal(a, b)
    return out


def test_spec_decoder_agrees_with_constriction() -> None:
    rng = np.random.default_rng(7)
    tensors = [
        np.clip(np.rint(rng.laplace(2, 6, 1500)), -127, 127).astype(np.int8),
        rng.choice(np.array([-127, -40, 0, 41, 127], np.int8), 600, p=[0.1, 0.3, 0.2, 0.3, 0.1]),
        np.full(9, -5, np.int8),
        np.zeros(0, np.int8),
        rng.integers(-127, 128, 300).astype(np.int8),
        np.array([127, -127], np.int8),
    ]
    models, payload = encode_tensors(tensors)
    headers = [model.to_bytes() for model in models]
    assert [h[0] for h in headers[:3]] == [0, 1, 2]
    decoded = decode_tensors_from_spec(headers, [t.size for t in tensors], payload)
    for tensor, symbols in zip(tensors, decoded, strict=True):
        assert symbols == tensor.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=255).filter(any))
def test_frequencies_follow_the_integer_recipe(masses: list[int]) -> None:
    f = frequencies(np.array(masses, dtype=np.uint64))
    assert f.tolist() == frequencies_from_spec(masses)
    assert int(f.sum()) == 2**24 - len(masses)


# --- Round trips. ---


@settings(max_examples=100, deadline=None)
@given(codes)
def test_round_trip_of_one_tensor(q: np.ndarray) -> None:
    _round_trip([q])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(codes, narrow_codes), max_size=5))
def test_round_trip_of_several_tensors_in_one_stream(tensors: list[np.ndarray]) -> None:
    _round_trip(tensors)


@pytest.mark.parametrize(
    "q",
    [
        np.zeros((4, 5), np.int8),
        np.full(7, 127, np.int8),
        np.full(3, -127, np.int8),
        np.array([-127, 127] * 10, np.int8),
        np.array([5], np.int8),
        np.zeros(0, np.int8),
        np.zeros((3, 0), np.int8),
        np.array(-3, np.int8),
    ],
    ids=["zeros", "all-127", "all-minus-127", "extremes", "single", "empty", "empty-2d", "0-d"],
)
def test_degenerate_tensors(q: np.ndarray) -> None:
    _round_trip([q, q])


@given(st.one_of(codes, narrow_codes))
def test_estimated_bits_match_the_coded_size(q: np.ndarray) -> None:
    models, payload = encode_tensors([q])
    actual = 8 * (len(models[0].to_bytes()) + len(payload))
    # The range coder flushes up to two 32-bit words beyond the ideal code length.
    assert actual - 64 <= estimated_bits(q) <= actual + 1


def test_constant_tensors_cost_no_payload() -> None:
    models, payload = encode_tensors([np.zeros(1000, np.int8), np.full((3, 3), 9, np.int8)])
    assert payload == b""
    assert models == [ConstantModel(0), ConstantModel(9)]


def test_model_choice() -> None:
    rng = np.random.default_rng(1)
    laplace = np.clip(np.rint(rng.laplace(0, 5, 5000)), -127, 127).astype(np.int8)
    bimodal = rng.choice(np.array([-60, 60], np.int8), 5000)
    assert isinstance(fit_model(laplace), LaplaceModel)
    assert isinstance(fit_model(bimodal), HistogramModel)


def test_laplace_coding_is_close_to_the_empirical_entropy() -> None:
    rng = np.random.default_rng(0)
    q = np.clip(np.rint(rng.laplace(0, 8, 50_000)), -127, 127).astype(np.int8)
    models, payload = encode_tensors([q])
    counts = np.bincount(q.astype(np.int64) + 127)
    p = counts[counts > 0] / q.size
    entropy_bits = float(-(p * np.log2(p)).sum()) * q.size
    overhead_bits = 8 * len(models[0].to_bytes())
    assert 8 * len(payload) <= 1.03 * entropy_bits + overhead_bits
    # Measured: 5.441 bits per weight against an empirical entropy of 5.438.
    assert 8 * len(payload) / q.size < 5.46


def test_encoding_is_deterministic() -> None:
    q = np.random.default_rng(3).integers(-127, 128, 2000).astype(np.int8)
    assert encode_tensors([q, q[::2]]) == encode_tensors([q, q[::2]])


@pytest.mark.parametrize(
    "q", [np.array([-128, 0], np.int8), np.zeros(3, np.int16), np.zeros(3, np.float32)]
)
def test_encoder_refuses_other_codes(q: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_tensors([q])


# --- Malformed input to the decoder. ---


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"", "truncated tensor model id"),
        (b"\x07", "unknown tensor model id 7"),
        (b"\x00\x00\x10", "truncated Laplace model ratio"),
        (b"\x00\x80\x00\x10", "centre -128"),
        (b"\x01\x05\x05\x01", "range 5..5"),
        (b"\x01\x06\x05\x01\x01", "range 6..5"),
        (b"\x01\x80\x7f" + b"\x01" * 256, "range -128..127"),
        (b"\x01\x00\x02\x00\x00\x00", "no counts"),
        (b"\x01\x00\x01\x01", "truncated histogram count"),
        (b"\x01\x00\x01\x01\xff\xff\xff\xff\x7f", "exceeds"),
        (b"\x01\x00\x01\x01\x81\x00", "shortest form"),
        (b"\x02", "truncated constant model value"),
        (b"\x02\x80", "value -128"),
    ],
)
def test_malformed_headers_raise_cfv_error(header: bytes, message: str) -> None:
    with pytest.raises(CfvError, match=message):
        read_model(ByteReader(header))


def test_payload_must_be_whole_words() -> None:
    models, payload = encode_tensors([np.arange(-5, 5, dtype=np.int8)])
    with pytest.raises(CfvError, match="whole 32-bit words"):
        decode_tensors(models, [(10,)], payload + b"\x00")


def test_undecodable_payload_raises_cfv_error() -> None:
    models, _ = encode_tensors([np.arange(-5, 5, dtype=np.int8)])
    with pytest.raises(CfvError, match="payload is corrupt"):
        decode_tensors(models, [(10,)], b"\xff" * 8)


def test_decoder_needs_one_shape_per_model() -> None:
    with pytest.raises(ValueError, match="one shape per"):
        decode_tensors([ConstantModel(0)], [], b"")
    with pytest.raises(ValueError, match="negative dimension"):
        decode_tensors([LaplaceModel(0, 1 << 15)], [(2, -1)], b"")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 400))
def test_damaged_payload_decodes_to_valid_codes_or_cfv_error(payload: bytes, size: int) -> None:
    rng = np.random.default_rng(5)
    q = np.clip(np.rint(rng.laplace(0, 3, 200)), -127, 127).astype(np.int8)
    bimodal = rng.choice(np.array([-9, 9], np.int8), 50)
    models, _ = encode_tensors([q, bimodal])
    payload = payload[: len(payload) // 4 * 4]
    try:
        out = decode_tensors(models, [(size,), (math.isqrt(size), 2)], payload)
    except CfvError:
        return
    assert out[0].shape == (size,) and out[0].dtype == np.int8
    assert out[0].min(initial=0) >= -127
    assert out[1].min(initial=0) >= -9 and out[1].max(initial=0) <= 9
