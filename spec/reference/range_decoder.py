"""A second decoder of the .cfv range-coded tensors, written from spec/cfv.md alone: plain Python
integers, no constriction, no numpy. The test suite checks that it agrees with the codec's
decoder, which shows the specification suffices to write one."""

from __future__ import annotations

import bisect
import struct


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _model(header: bytes) -> tuple[int, list[int]] | int:
    """(first symbol, weights) for coded models, or the value of a constant model."""
    kind = header[0]
    if kind == 2:
        return struct.unpack("<b", header[1:2])[0]
    if kind == 0:
        mu, ratio = struct.unpack("<bH", header[1:4])
        by_distance = [2**32]
        for _ in range(254):
            by_distance.append(by_distance[-1] * ratio >> 16)
        return -127, [by_distance[abs(k - mu)] for k in range(-127, 128)]
    lo, hi = struct.unpack("<bb", header[1:3])
    counts, pos = [], 3
    for _ in range(hi - lo + 1):
        count, pos = _varint(header, pos)
        counts.append(count)
    return lo, counts


def frequencies(weights: list[int]) -> list[int]:
    total = 2**24 - len(weights)
    f = [w * total // sum(weights) for w in weights]
    f[weights.index(max(weights))] += total - sum(f)
    return f


def decode_tensors(headers: list[bytes], sizes: list[int], payload: bytes) -> list[list[int]]:
    """The symbols of each tensor (`sizes` elements each) from their model headers and the
    range-coded payload, as spec/cfv.md section 4 describes them."""
    words = list(struct.unpack(f"<{len(payload) // 4}I", payload))
    words.reverse()

    def next_word() -> int:
        return words.pop() if words else 0

    mask = 2**64 - 1
    point = next_word() << 32 | next_word()
    lower, size = 0, mask
    out = []
    for header, count in zip(headers, sizes, strict=True):
        model = _model(header)
        if isinstance(model, int):
            out.append([model] * count)
            continue
        first, weights = model
        cdf = [0]
        for f in frequencies(weights):
            cdf.append(cdf[-1] + f + 1)
        assert cdf[-1] == 2**24
        symbols = []
        for _ in range(count):
            scale = size >> 24
            quantile = ((point - lower) & mask) // scale
            assert quantile < 2**24
            i = bisect.bisect_right(cdf, quantile) - 1
            lower = (lower + scale * cdf[i]) & mask
            size = scale * (cdf[i + 1] - cdf[i])
            if size < 2**32:
                lower = (lower << 32) & mask
                size <<= 32
                point = (point << 32 & mask) | next_word()
            symbols.append(first + i)
        out.append(symbols)
    return out
