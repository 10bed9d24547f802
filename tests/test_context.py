"""Context-coded latent grids (formats 1.4 and 1.5, the LATC chunk): round trips, the choice
between plain coding, context coding and context coding with the previous frame, agreement
with the decoder written from spec/cfv.md, and damaged bytes (fuzzed with the other grid
files in tests/test_cfv_grid.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream.cfv import CRITICAL_TYPES, LATC, VERSION, parse_cfv
from nvcodec.bitstream.container import read_container, write_container
from nvcodec.bitstream.context import (
    CONTEXT_CLASSES,
    TEMPORAL_CLASSES,
    context_classes,
    decode_grids,
    encode_grids,
    temporal_context_classes,
)
from nvcodec.bitstream.entropy import encode_tensors, read_model
from nvcodec.bitstream.fields import ByteReader
from nvcodec.errors import CfvError
from spec.reference.range_decoder import decode_grids as decode_grids_from_spec

CONTEXT_VECTOR = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "grid-context.cfv"
TEMPORAL_VECTOR = CONTEXT_VECTOR.with_name("grid-temporal.cfv")


def clustered_grid(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Mostly zeros, with large codes in a few blobs: what a rate-trained latent grid looks
    like, and what context coding is for."""
    rng = np.random.default_rng(seed)
    rows, columns = shape[-2:]
    i, j = np.indices((rows, columns))
    mask = np.zeros((rows, columns))
    for _ in range(3):
        ci, cj = rng.integers(0, rows), rng.integers(0, columns)
        mask += np.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (0.02 * rows * columns + 1))
    values = rng.laplace(0, 1, shape) * (0.05 + 8 * mask)
    return np.clip(np.rint(values), -127, 127).astype(np.int8)


def persistent_volume(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A clustered grid whose frames (its third-last axis) each repeat the one before with a
    few codes changed: what a volume of latents over a slow clip looks like."""
    rng = np.random.default_rng(seed)
    first = clustered_grid((*shape[:-3], 1, *shape[-2:]), seed)
    steps = rng.integers(-1, 2, shape) * (rng.random(shape) < 0.05)
    steps[..., 0, :, :] = 0
    return np.clip(first + np.cumsum(steps, axis=-3), -127, 127).astype(np.int8)


grids = st.builds(
    clustered_grid,
    st.lists(st.integers(1, 14), min_size=2, max_size=4).map(tuple),
    st.integers(0, 2**16),
)


def _round_trip(tensors: list[np.ndarray]) -> list:
    models, payload = encode_grids(tensors)
    out = decode_grids(models, [t.shape for t in tensors], payload)
    for tensor, decoded in zip(tensors, out, strict=True):
        assert decoded.dtype == np.int8 and np.array_equal(tensor, decoded)
    return models


volumes = st.builds(
    persistent_volume,
    st.lists(st.integers(1, 12), min_size=3, max_size=4).map(tuple),
    st.integers(0, 2**16),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(grids | volumes, min_size=1, max_size=4))
def test_grids_round_trip_exactly(tensors: list[np.ndarray]) -> None:
    _round_trip(tensors)


def test_a_persistent_volume_is_coded_with_the_previous_frame_and_costs_less() -> None:
    volume = persistent_volume((2, 8, 30, 40), seed=8)
    (models,), payload = encode_grids([volume])
    assert isinstance(models, list) and len(models) == TEMPORAL_CLASSES
    spent = len(payload) + sum(len(m.to_bytes()) for m in models)
    frames_apart = [np.ascontiguousarray(volume[:, k : k + 1]) for k in range(8)]
    alone_models, alone_payload = encode_grids(frames_apart)
    alone = len(alone_payload) + sum(
        len(m.to_bytes()) for g in alone_models for m in (g if isinstance(g, list) else [g])
    )
    assert spent < 0.8 * alone


def test_a_clustered_grid_is_context_coded_and_costs_less() -> None:
    grid = clustered_grid((2, 60, 80), seed=1)
    (models,), payload = encode_grids([grid])
    assert isinstance(models, list) and len(models) == CONTEXT_CLASSES
    context_bytes = len(payload) + sum(len(m.to_bytes()) for m in models)
    (plain,), plain_payload = encode_tensors([grid])
    assert context_bytes < 0.9 * (len(plain_payload) + len(plain.to_bytes()))


def test_a_grid_without_structure_is_coded_plain() -> None:
    noise = np.random.default_rng(2).integers(-3, 4, (1, 6, 5)).astype(np.int8)
    (models,), _ = encode_grids([noise])
    assert not isinstance(models, list)
    _round_trip([noise])


def test_context_classes_count_the_coded_neighbours() -> None:
    codes = np.array([[[0, 3, 0], [1, 0, 0]]], np.int8)
    # Left and up count twice, up-left and up-right once; beyond the edges counts as 0.
    expected = [[[0, 0, 6], [3, 8, 3]]]
    np.testing.assert_array_equal(context_classes(codes), np.minimum(expected, 11))


def test_classes_with_the_previous_frame_add_its_capped_magnitude() -> None:
    codes = np.array([[[0, 3, 0]], [[-5, 0, 2]], [[1, 0, 0]]], np.int8)  # 3 frames of 1 x 3
    near = context_classes(codes)
    previous = [[[0, 0, 0]], [[0, 3, 0]], [[3, 0, 2]]]  # capped at 3; none before frame 0
    expected = 4 * near + np.array(previous)
    np.testing.assert_array_equal(temporal_context_classes(codes, 3), expected)
    # Two runs of one frame each: no previous frame anywhere.
    np.testing.assert_array_equal(temporal_context_classes(codes[:2], 1), 4 * near[:2])


def test_spec_decoder_agrees_with_the_codec() -> None:
    tensors = [
        clustered_grid((1, 20, 26), seed=3),
        np.random.default_rng(4).integers(-2, 3, (1, 3, 4)).astype(np.int8),
        clustered_grid((2, 3, 9, 11), seed=5),
        np.zeros((1, 4, 4), np.int8),
        persistent_volume((2, 6, 12, 16), seed=9),
    ]
    models = _round_trip(tensors)
    assert isinstance(models[0], list) and not isinstance(models[1], list)
    assert len(models[4]) == TEMPORAL_CLASSES
    _, payload = encode_grids(tensors)
    headers = [
        [m.to_bytes() for m in (grid if isinstance(grid, list) else [grid])] for grid in models
    ]
    decoded = decode_grids_from_spec(headers, [t.shape for t in tensors], payload)
    for tensor, symbols in zip(tensors, decoded, strict=True):
        assert symbols == tensor.ravel().tolist()


def test_the_temporal_vector_codes_its_volume_with_the_previous_frame() -> None:
    latents = parse_cfv(TEMPORAL_VECTOR.read_bytes()).latents
    assert len(latents.models[-1]) == TEMPORAL_CLASSES
    assert all(len(m) == CONTEXT_CLASSES for m in latents.models[:-1] if isinstance(m, list))


def test_the_context_vector_holds_both_codings() -> None:
    latents = parse_cfv(CONTEXT_VECTOR.read_bytes()).latents
    codings = {isinstance(models, list) for models in latents.models}
    assert codings == {True, False}
    header = [m for models in latents.models if isinstance(models, list) for m in models]
    reader = ByteReader(b"".join(m.to_bytes() for m in header))
    assert [read_model(reader) for _ in header] == header


def _with_latc(data: bytes, payload: bytes) -> bytes:
    _, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    return write_container(VERSION, [(t, payload if t == LATC else p) for t, p in chunks])


def test_an_unknown_latent_coding_is_refused() -> None:
    data = CONTEXT_VECTOR.read_bytes()
    _, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    latc = bytearray(dict(chunks)[LATC])
    latc[2] = 7  # after the first grid's one f16 scale
    with pytest.raises(CfvError, match="unknown latent coding 7"):
        parse_cfv(_with_latc(data, bytes(latc)))


def test_a_payload_of_partial_words_is_refused() -> None:
    models, payload = encode_grids([clustered_grid((1, 8, 8), seed=6)])
    with pytest.raises(CfvError, match="whole 32-bit words"):
        decode_grids(models, [(1, 8, 8)], payload + b"\0")
