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


class RangeDecoder:
    """The decoder of section 4.5 over one payload."""

    MASK = 2**64 - 1

    def __init__(self, payload: bytes) -> None:
        self.words = list(struct.unpack(f"<{len(payload) // 4}I", payload))
        self.words.reverse()
        self.point = self.next_word() << 32 | self.next_word()
        self.lower, self.size = 0, self.MASK

    def next_word(self) -> int:
        return self.words.pop() if self.words else 0

    def decode(self, header: bytes, count: int) -> list[int]:
        """`count` symbols under the model of `header`."""
        model = _model(header)
        if isinstance(model, int):
            return [model] * count
        first, weights = model
        cdf = [0]
        for f in frequencies(weights):
            cdf.append(cdf[-1] + f + 1)
        assert cdf[-1] == 2**24
        symbols = []
        for _ in range(count):
            scale = self.size >> 24
            quantile = ((self.point - self.lower) & self.MASK) // scale
            assert quantile < 2**24
            i = bisect.bisect_right(cdf, quantile) - 1
            self.lower = (self.lower + scale * cdf[i]) & self.MASK
            self.size = scale * (cdf[i + 1] - cdf[i])
            if self.size < 2**32:
                self.lower = (self.lower << 32) & self.MASK
                self.size <<= 32
                self.point = (self.point << 32 & self.MASK) | self.next_word()
            symbols.append(first + i)
        return symbols


def decode_tensors(headers: list[bytes], sizes: list[int], payload: bytes) -> list[list[int]]:
    """The symbols of each tensor (`sizes` elements each) from their model headers and the
    range-coded payload, as spec/cfv.md section 4 describes them."""
    decoder = RangeDecoder(payload)
    return [decoder.decode(header, count) for header, count in zip(headers, sizes, strict=True)]


def decode_grids(
    headers: list[list[bytes]], shapes: list[tuple[int, ...]], payload: bytes
) -> list[list[int]]:
    """The symbols of each grid of a LATC chunk, in C order, from its model headers (one, or
    one per context class, or one per context class with the previous frame) and the
    payload, as spec/cfv.md section 4.7 describes them."""
    decoder = RangeDecoder(payload)
    out = []
    for grid_headers, shape in zip(headers, shapes, strict=True):
        slices = 1
        for n in shape[:-2]:
            slices *= n
        if len(grid_headers) == 1:
            out.append(decoder.decode(grid_headers[0], slices * shape[-2] * shape[-1]))
            continue
        # With the previous frame (48 headers) the slices run through F frames at a time.
        frames = shape[-3] if len(grid_headers) == 48 and len(shape) >= 3 else 1
        out.append(_by_wavefronts(decoder, grid_headers, slices, shape[-2], shape[-1], frames))
    return out


def _by_wavefronts(
    decoder: RangeDecoder, headers: list[bytes], slices: int, rows: int, columns: int, frames: int
) -> list[int]:
    q = [[[0] * columns for _ in range(rows)] for _ in range(slices)]

    def magnitude(s: int, i: int, j: int) -> int:
        return abs(q[s][i][j]) if 0 <= i < rows and 0 <= j < columns else 0

    def context(s: int, i: int, j: int) -> int:
        near = min(
            2 * (magnitude(s, i, j - 1) + magnitude(s, i - 1, j))
            + magnitude(s, i - 1, j - 1)
            + magnitude(s, i - 1, j + 1),
            11,
        )
        if len(headers) == 12:
            return near
        return 4 * near + (min(magnitude(s - 1, i, j), 3) if s % frames > 0 else 0)

    for d in range(2 * (rows - 1) + columns + frames - 1):
        front = [(s, i, d - 2 * i - s % frames) for s in range(slices) for i in range(rows)]
        front = [(s, i, j) for s, i, j in front if 0 <= j < columns]
        classes = [context(s, i, j) for s, i, j in front]
        for k, header in enumerate(headers):
            chosen = [at for at, c in zip(front, classes, strict=True) if c == k]
            for (s, i, j), value in zip(chosen, decoder.decode(header, len(chosen)), strict=True):
                q[s][i][j] = value
    return [value for grid in q for row in grid for value in row]
