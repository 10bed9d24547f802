"""Per-channel symmetric int8 quantization with float16 scales."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nvcodec.bitstream.quantize import QMAX, dequantize, quantize_per_channel

matrices = arrays(
    np.float32,
    array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=8),
    elements=st.floats(-1e4, 1e4, width=32),
)
vectors = arrays(
    np.float64,
    array_shapes(min_dims=0, max_dims=1, min_side=0, max_side=16),
    elements=st.floats(-1e3, 1e3),
)


def _check_round_trip(w: np.ndarray, axis: int, qmax: int = QMAX) -> None:
    q, scales = quantize_per_channel(w, axis, qmax)
    assert q.dtype == np.int8 and q.shape == w.shape
    assert np.all(np.abs(q.astype(np.int16)) <= qmax)
    assert scales.dtype == np.float32
    assert np.array_equal(scales.astype(np.float16).astype(np.float32), scales)
    if w.ndim <= 1:
        assert scales.shape == (1,)
        step = np.full(w.shape, scales[0], dtype=np.float64)
        maxabs = np.array([np.abs(w).max(initial=0.0)], dtype=np.float64)
    else:
        assert scales.shape == (w.shape[axis],)
        shape = [1] * w.ndim
        shape[axis] = -1
        step = np.broadcast_to(scales.reshape(shape), w.shape).astype(np.float64)
        other = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
        maxabs = np.abs(w).astype(np.float64).max(axis=other, initial=0.0)
    # Smallest float16 that covers the channel's range: no clipping, nothing wasted.
    assert np.all(scales.astype(np.float64) * qmax >= maxabs)
    below = np.nextafter(scales.astype(np.float16), np.float16(0)).astype(np.float64)
    assert np.all((scales == 0) | (below * qmax < maxabs))
    back = dequantize(q, scales, axis)
    assert back.dtype == np.float32 and back.shape == w.shape
    err = np.abs(back.astype(np.float64) - w.astype(np.float64))
    assert np.all(err <= step / 2 * (1 + 1e-6))


@settings(max_examples=60, deadline=None)
@given(matrices, st.sampled_from([0, 1, -1]))
def test_round_trip_within_half_a_step(w: np.ndarray, axis: int) -> None:
    _check_round_trip(w, axis)


@settings(max_examples=40, deadline=None)
@given(matrices, st.integers(1, QMAX))
def test_fewer_levels_round_trip_within_half_a_step(w: np.ndarray, qmax: int) -> None:
    _check_round_trip(w, 0, qmax)


@settings(max_examples=40, deadline=None)
@given(vectors)
def test_vectors_and_scalars_share_one_scale(w: np.ndarray) -> None:
    _check_round_trip(w, 0)


def test_zero_channel_gets_zero_scale_and_codes() -> None:
    w = np.array([[0.0, 0.0, 0.0], [0.5, -1.0, 0.25]], dtype=np.float32)
    q, scales = quantize_per_channel(w)
    assert scales[0] == 0 and not q[0].any()
    assert np.array_equal(dequantize(q, scales)[0], np.zeros(3, np.float32))


def test_channel_extremes_map_to_plus_minus_127() -> None:
    w = np.array([[-2.0, 1.0, 2.0], [3.0, 0.0, -1.5]], dtype=np.float32)
    q, _ = quantize_per_channel(w)
    assert q[0, 0] == -127 and q[0, 2] == 127 and q[1, 0] == 127
    assert q.min() >= -127


def test_axis_one_scales_columns() -> None:
    w = np.array([[1.0, 100.0], [-1.0, 50.0]], dtype=np.float32)
    q, scales = quantize_per_channel(w, axis=1)
    assert scales.shape == (2,) and scales[1] > 50 * scales[0]
    assert q[0, 0] == 127 and q[0, 1] == 127


def test_tiny_weights_keep_a_nonzero_subnormal_scale() -> None:
    w = np.array([[1e-6, -3e-6], [1e-9, 0.0]], dtype=np.float32)
    q, scales = quantize_per_channel(w)
    assert np.all(scales > 0) and np.all(scales < np.finfo(np.float16).tiny)
    assert q[0, 1] == -50
    _check_round_trip(w, 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize_per_channel(np.array([[1.0, bad]]))


def test_weights_beyond_float16_scale_range_are_refused() -> None:
    with pytest.raises(ValueError, match="float16"):
        quantize_per_channel(np.array([[1e7, 0.0]]))


def test_dequantize_checks_scale_count_and_axis() -> None:
    q = np.zeros((2, 3), np.int8)
    with pytest.raises(ValueError, match="scales"):
        dequantize(q, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="axis"):
        dequantize(q, np.ones(2, np.float32), axis=2)
    assert dequantize(q, np.ones(3, np.float16), axis=1).shape == (2, 3)
