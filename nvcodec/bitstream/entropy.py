"""Range coding of int8 tensors (symbols -127..127) in one shared stream.

All tensors go through a single ``constriction`` ``RangeEncoder`` (32-bit words, 64-bit
state) in order and are decoded in the same order by one ``RangeDecoder``. Each tensor has
its own probability model, chosen by the encoder as the cheapest of

* ``LaplaceModel`` (id 0): a two-sided geometric ("discrete Laplace") distribution over the
  whole alphabet, 4 header bytes;
* ``HistogramModel`` (id 1): the stored symbol counts of the tensor, for shapes the Laplace
  family fits badly;
* ``ConstantModel`` (id 2): every element has one value; nothing is range coded.

Every coded model gives each symbol an unnormalised integer probability mass (spec/cfv.md
calls it the symbol's weight), and reduces, with integer arithmetic only, to frequencies ``f``
over a contiguous symbol range of ``n`` symbols with ``sum(f) == 2**24 - n``. These are handed to
``constriction.stream.model.Categorical`` as float64 with ``perfect=False``. Its fast
quantizer computes ``floor(cumsum_float * scale) + index`` with
``scale = (2**24 - n) / sum(f)``; because the floats are integers below ``2**53`` whose sum
is exactly ``2**24 - n``, the scale is exactly 1.0 and every step is exact, so the coder's
24-bit probability of symbol ``i`` is exactly ``f[i] + 1`` out of ``2**24``, on any machine.
The byte layouts and recipes are specified in spec/cfv.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import constriction
import numpy as np

from nvcodec.bitstream.container import ByteReader, ByteWriter
from nvcodec.errors import CfvError

PRECISION = 24
SYMBOL_MIN = -127
SYMBOL_MAX = 127
ALPHABET = SYMBOL_MAX - SYMBOL_MIN + 1

MODEL_LAPLACE = 0
MODEL_HISTOGRAM = 1
MODEL_CONSTANT = 2

LAPLACE_PEAK = 1 << 32
"""Mass of the centre symbol; 32 bits keep the tails of wide distributions resolved."""
MAX_COUNT = 2**32 - 1
"""Histogram counts fit 32 bits, so ``count * (2**24 - n)`` fits an unsigned 64-bit integer."""

_LAPLACE_HEADER_BYTES = 4


@dataclass(frozen=True)
class LaplaceModel:
    """P(k) proportional to ``r**|k - mu|`` over -127..127 with ``r = ratio_q16 / 65536``."""

    mu: int
    ratio_q16: int

    first_symbol: ClassVar[int] = SYMBOL_MIN

    def masses(self) -> np.ndarray:
        """The unnormalised probability masses of symbols -127..127."""
        return _laplace_masses(np.array([self.ratio_q16]), self.mu)[0]

    def to_bytes(self) -> bytes:
        w = ByteWriter()
        w.u8(MODEL_LAPLACE)
        w.i8(self.mu)
        w.u16(self.ratio_q16)
        return w.getvalue()


@dataclass(frozen=True)
class HistogramModel:
    """Stored counts of the symbols ``first_symbol .. first_symbol + len(counts) - 1``."""

    first_symbol: int
    counts: tuple[int, ...]

    def masses(self) -> np.ndarray:
        """The unnormalised probability masses of the model's symbols: their counts."""
        return np.array(self.counts, dtype=np.uint64)

    def to_bytes(self) -> bytes:
        w = ByteWriter()
        w.u8(MODEL_HISTOGRAM)
        w.i8(self.first_symbol)
        w.i8(self.first_symbol + len(self.counts) - 1)
        for count in self.counts:
            w.uvarint(count)
        return w.getvalue()


@dataclass(frozen=True)
class ConstantModel:
    """Every element equals ``value``; costs no payload bits."""

    value: int

    def to_bytes(self) -> bytes:
        w = ByteWriter()
        w.u8(MODEL_CONSTANT)
        w.i8(self.value)
        return w.getvalue()


TensorModel = LaplaceModel | HistogramModel | ConstantModel


def frequencies(masses: np.ndarray) -> np.ndarray:
    """Integer frequencies summing to ``2**24 - n`` from ``n`` non-negative integer masses.

    Rows of a 2-D ``masses`` are normalized independently. ``f = floor(m * T / M)`` with
    ``T = 2**24 - n`` and ``M = sum(m)``; the ``T - sum(f)`` left over (fewer than ``n``) go
    to the first symbol of largest mass. All values stay below ``2**64``.
    """
    m = np.atleast_2d(np.asarray(masses, dtype=np.uint64))
    total = np.uint64((1 << PRECISION) - m.shape[1])
    f = m * total // m.sum(axis=1, keepdims=True)
    peak = np.argmax(m, axis=1)
    rows = np.arange(m.shape[0])
    f[rows, peak] += total - f.sum(axis=1)
    return f.reshape(np.shape(masses))


def _laplace_profiles(ratios: np.ndarray) -> np.ndarray:
    """Masses by distance ``d = 0..254``: ``m[0] = 2**32``, ``m[d+1] = (m[d] * R) >> 16``."""
    ratios = ratios.astype(np.uint64)
    profiles = np.empty((len(ratios), ALPHABET), dtype=np.uint64)
    profiles[:, 0] = LAPLACE_PEAK
    for d in range(1, ALPHABET):
        profiles[:, d] = (profiles[:, d - 1] * ratios) >> np.uint64(16)
    return profiles


def _laplace_masses(ratios: np.ndarray, mu: int) -> np.ndarray:
    """Masses of symbols -127..127 for each candidate ratio (one row per ratio)."""
    distance = np.abs(np.arange(SYMBOL_MIN, SYMBOL_MAX + 1) - mu)
    return _laplace_profiles(ratios)[:, distance]


def _cost_bits(masses: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Ideal code length in bits of symbols with ``counts`` under each row of ``masses``."""
    probs = frequencies(masses).astype(np.float64) + 1.0
    return counts @ (PRECISION - np.log2(probs)).T


def _fit_laplace(counts: np.ndarray, mu: int) -> tuple[LaplaceModel, float]:
    """Best decay ratio for centre ``mu`` by a coarse then a fine grid search."""
    coarse = np.arange(0, 1 << 16, 256)
    best = int(coarse[np.argmin(_cost_bits(_laplace_masses(coarse, mu), counts))])
    fine = np.arange(max(best - 255, 0), min(best + 256, 1 << 16))
    costs = _cost_bits(_laplace_masses(fine, mu), counts)
    i = int(np.argmin(costs))
    return LaplaceModel(mu, int(fine[i])), float(costs[i]) + 8 * _LAPLACE_HEADER_BYTES


def _fit_histogram(counts: np.ndarray) -> tuple[HistogramModel, float]:
    present = np.flatnonzero(counts)
    span = counts[present[0] : present[-1] + 1]
    model = HistogramModel(int(present[0]) + SYMBOL_MIN, tuple(int(c) for c in span))
    bits = float(_cost_bits(model.masses(), span))
    return model, bits + 8 * len(model.to_bytes())


def fit_model(q: np.ndarray) -> TensorModel:
    """The model with the fewest estimated bits (header included) for int8 codes ``q``."""
    return fit_model_and_bits(q)[0]


def estimated_bits(q: np.ndarray) -> float:
    """Bits that :func:`encode_tensors` spends on int8 codes ``q``, header included, to within
    the range coder's few bits of overhead per stream."""
    return fit_model_and_bits(q)[1]


def fit_model_and_bits(q: np.ndarray) -> tuple[TensorModel, float]:
    """:func:`fit_model` and :func:`estimated_bits` of int8 codes ``q``, found once."""
    flat = _check_codes(q)
    if flat.size == 0 or flat.min() == flat.max():
        model = ConstantModel(int(flat[0]) if flat.size else 0)
        return model, 8.0 * len(model.to_bytes())
    if flat.size > MAX_COUNT:
        raise ValueError(f"tensors are limited to {MAX_COUNT} elements")
    counts = np.bincount(flat.astype(np.int64) - SYMBOL_MIN, minlength=ALPHABET)
    # The (lower) median is a maximum-likelihood centre of a Laplace distribution.
    mu = int(np.searchsorted(np.cumsum(counts), (flat.size - 1) // 2, side="right")) + SYMBOL_MIN
    candidates = [_fit_laplace(counts.astype(np.float64), mu), _fit_histogram(counts)]
    return min(candidates, key=lambda pair: pair[1])


def _check_codes(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q)
    if q.dtype != np.int8:
        raise ValueError(f"expected int8 codes, got {q.dtype}")
    flat = q.ravel()
    if flat.size and flat.min() < SYMBOL_MIN:
        raise ValueError("int8 codes must lie in -127..127")
    return flat


@lru_cache(maxsize=256)
def coder_model(model: LaplaceModel | HistogramModel) -> object:
    """The constriction model that codes symbols (less the first symbol) under `model`; kept,
    as a context-coded grid codes many short runs under each of its few models."""
    probabilities = frequencies(model.masses()).astype(np.float64)
    return constriction.stream.model.Categorical(probabilities, perfect=False)


def read_model(reader: ByteReader) -> TensorModel:
    """Read and validate one model header; raises :class:`CfvError` if it is malformed."""
    kind = reader.u8("tensor model id")
    if kind == MODEL_LAPLACE:
        mu = reader.i8("Laplace model centre")
        ratio = reader.u16("Laplace model ratio")
        if mu < SYMBOL_MIN:
            raise CfvError(f"Laplace model centre {mu} is outside -127..127")
        return LaplaceModel(mu, ratio)
    if kind == MODEL_HISTOGRAM:
        lo = reader.i8("histogram model first symbol")
        hi = reader.i8("histogram model last symbol")
        if not SYMBOL_MIN <= lo < hi:
            raise CfvError(f"histogram model range {lo}..{hi} is not within -127..127")
        counts = tuple(reader.uvarint("histogram count", MAX_COUNT) for _ in range(hi - lo + 1))
        if not any(counts):
            raise CfvError("histogram model has no counts")
        return HistogramModel(lo, counts)
    if kind == MODEL_CONSTANT:
        value = reader.i8("constant model value")
        if value < SYMBOL_MIN:
            raise CfvError(f"constant model value {value} is outside -127..127")
        return ConstantModel(value)
    raise CfvError(f"unknown tensor model id {kind}")


def encode_tensors(tensors: Sequence[np.ndarray]) -> tuple[list[TensorModel], bytes]:
    """Range-code int8 tensors (values -127..127) into one stream.

    Returns the model of each tensor (the file stores its ``to_bytes()`` header) and the
    payload: the coder's 32-bit words, each little-endian. Elements are coded in C order;
    shapes are not stored.
    """
    encoder = constriction.stream.queue.RangeEncoder()
    models = []
    for q in tensors:
        model = fit_model(q)
        models.append(model)
        encode_codes(encoder, np.asarray(q).ravel(), model)
    return models, encoder.get_compressed().astype("<u4").tobytes()


def encode_codes(encoder: object, codes: np.ndarray, model: TensorModel) -> None:
    """Append 1-D int8 codes to a range encoder under `model` (a constant model codes nothing)."""
    if not isinstance(model, ConstantModel):
        encoder.encode(codes.astype(np.int32) - model.first_symbol, coder_model(model))


def range_decoder(payload: bytes) -> object:
    """A range decoder of a payload of whole 32-bit words."""
    if len(payload) % 4:
        raise CfvError(f"range-coded payload of {len(payload)} bytes is not whole 32-bit words")
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    return constriction.stream.queue.RangeDecoder(words)


def decode_codes(decoder: object, model: TensorModel, count: int) -> np.ndarray:
    """The next `count` codes (int32) from a range decoder under `model`."""
    if isinstance(model, ConstantModel):
        return np.full(count, model.value, dtype=np.int32)
    if count == 0:
        return np.zeros(0, dtype=np.int32)
    try:
        symbols = decoder.decode(coder_model(model), count)
    except (AssertionError, ValueError, RuntimeError) as exc:
        # constriction reports undecodable data with a plain AssertionError.
        raise CfvError(f"range-coded payload is corrupt ({exc})") from None
    return symbols.astype(np.int32) + model.first_symbol


def decode_tensors(
    models: Sequence[TensorModel], shapes: Sequence[tuple[int, ...]], payload: bytes
) -> list[np.ndarray]:
    """Inverse of :func:`encode_tensors`, given each tensor's model (as :func:`read_model`
    checked it) and shape.

    The caller bounds the shapes; decoding does work and allocation proportional to their
    element counts only. A damaged payload may decode to wrong values without an error
    (the container CRC catches damage); malformed payload lengths and coder failures raise
    :class:`CfvError`.
    """
    if len(models) != len(shapes):
        raise ValueError("need one shape per tensor model")
    decoder = range_decoder(payload)
    out = []
    for model, shape in zip(models, shapes, strict=True):
        if min(shape, default=0) < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        codes = decode_codes(decoder, model, math.prod(shape))
        out.append(codes.astype(np.int8).reshape(shape))
    return out
