"""Symmetric int8 quantization of weight tensors with float16 scales.

A tensor of two or more dimensions gets one scale per output channel (the slices along
``axis``); a 0-D or 1-D tensor (a bias) gets a single scale for the whole tensor, because a
bias has one value per output channel and a per-channel scale would cost two bytes of
float16 to save one byte of int8.

The value ``q * scale`` is exact in float32 (``|q| <= 127`` has 7 significant bits and a
float16 scale has 11), so every reader dequantizes to bit-identical weights.
"""

from __future__ import annotations

import numpy as np

QMAX = 127
"""Largest quantized magnitude; -128 is never produced so the code is symmetric."""

_FLOAT16_MAX = float(np.finfo(np.float16).max)


def _float16_ceil(x: np.ndarray) -> np.ndarray:
    """Smallest float16 values >= ``x`` (non-negative float64), returned as float32.

    Rounding up rather than to nearest guarantees ``qmax * scale >= max|w|``, so no value is
    clipped and the round-trip error stays within half a step.
    """
    if np.any(x > _FLOAT16_MAX):
        raise ValueError(
            f"weights too large for float16 scales (max |w| / qmax must be <= {_FLOAT16_MAX:g})"
        )
    h = x.astype(np.float16)
    low = h.astype(np.float64) < x
    h[low] = np.nextafter(h[low], np.float16(np.inf))
    return h.astype(np.float32)


def _scale_shape(ndim: int, axis: int) -> tuple[int, ...]:
    """Shape that broadcasts the scales of a tensor of ``ndim`` dimensions along ``axis``."""
    if ndim <= 1:
        return (1,) * ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} out of range for a {ndim}-D tensor")
    shape = [1] * ndim
    shape[axis % ndim] = -1
    return tuple(shape)


def quantize_per_channel(
    w: np.ndarray, axis: int = 0, qmax: int = QMAX
) -> tuple[np.ndarray, np.ndarray]:
    """Quantize ``w`` to int8 in -qmax..qmax with scale ``max|w| / qmax`` per output channel.

    Returns ``(q, scales)``: ``q`` is int8 with the shape of ``w``; ``scales`` is float32,
    one per slice along ``axis`` (``w.shape[axis]`` of them) for tensors of two or more
    dimensions, or a single one for 0-D and 1-D tensors. Every scale is exactly
    representable in float16 (store it as such) and is the smallest float16 that is
    ``>= max|w| / qmax``; an all-zero channel gets scale 0 and all-zero codes. A ``qmax``
    below 127 uses fewer levels of the int8 range: a coarser step, cheaper to entropy code.
    """
    if not 1 <= qmax <= QMAX:
        raise ValueError(f"qmax must lie in 1..{QMAX}")
    w64 = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w64)):
        raise ValueError("weights must be finite")
    shape = _scale_shape(w64.ndim, axis)
    mag = np.abs(w64)
    if w64.ndim <= 1:
        maxabs = np.array([mag.max(initial=0.0)])
    else:
        reduce_axes = tuple(i for i in range(w64.ndim) if i != axis % w64.ndim)
        maxabs = mag.max(axis=reduce_axes, initial=0.0)
    scales = _float16_ceil(maxabs / qmax)
    # The division underflows to 0 for subnormal weights; keep qmax * scale >= max|w| there too.
    scales[(scales == 0) & (maxabs > 0)] = np.finfo(np.float16).smallest_subnormal
    s = scales.astype(np.float64).reshape(shape)
    ratio = np.divide(w64, s, out=np.zeros_like(w64), where=s > 0)
    q = np.clip(np.rint(ratio), -qmax, qmax).astype(np.int8)
    return q, scales


def quantize_with_step(w: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``clip(rint(w / step), -127, 127)`` of a tensor of two or more dimensions, with
    ``step`` (a float16 value) as every channel's scale along axis 0: the latents of a grid
    model, whose step the fit chose, not their range."""
    w64 = np.asarray(w, dtype=np.float64)
    if w64.ndim < 2:
        raise ValueError("a stepped tensor has channels: two or more dimensions")
    if not np.all(np.isfinite(w64)):
        raise ValueError("values must be finite")
    scale = np.float32(np.float16(step))
    if scale != step or not scale > 0:
        raise ValueError(f"step {step} is not a positive float16 value")
    q = np.clip(np.rint(w64 / float(scale)), -QMAX, QMAX).astype(np.int8)
    return q, np.full(w64.shape[0], scale, dtype=np.float32)


def dequantize(q: np.ndarray, scales: np.ndarray, axis: int = 0) -> np.ndarray:
    """Float32 weights ``q * scale`` for codes and scales from :func:`quantize_per_channel`."""
    q = np.asarray(q)
    s = np.asarray(scales).astype(np.float32)
    shape = _scale_shape(q.ndim, axis)
    channels = 1 if q.ndim <= 1 else q.shape[axis]
    if s.shape != (channels,):
        raise ValueError(f"expected {channels} scales for a tensor of shape {q.shape}")
    return q.astype(np.float32) * s.reshape(shape)


def on_grid(w: np.ndarray, axis: int = 0, qmax: int = QMAX) -> np.ndarray:
    """The float32 values a reader rebuilds from ``w`` quantized with ``qmax``.

    Quantizing them again with the same ``qmax`` gives back the same codes and scales, so
    weights put on the grid before a file is written are stored without further error.
    """
    q, scales = quantize_per_channel(w, axis, qmax)
    return dequantize(q, scales, axis)
