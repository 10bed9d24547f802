"""Classic codecs through PyAV's bundled FFmpeg, measured on exactly the frames given.

bpp counts the encoded packets' bytes (no container overhead); PSNR is on RGB after decoding
back and converting with the same swscale path the input took. `span_crfs` picks the CRFs whose
rates cover a given bpp range, so a classic curve always brackets the curve it is compared with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

# SVT-AV1 prints a page of configuration to stderr per encoder unless told to log errors only.
os.environ.setdefault("SVT_LOG", "1")


@dataclass(frozen=True)
class ClassicCodec:
    """One encoder setting: FFmpeg encoder and decoder, preset, CRF scale and other options."""

    name: str
    codec: str
    decoder: str
    preset: str
    options: dict[str, str]
    crf_range: tuple[int, int]
    crf_start: int
    """Where the CRF search starts: a mid-quality setting for this codec."""

    def available(self) -> bool:
        """Whether PyAV's FFmpeg has both the encoder and the decoder."""
        return {self.codec, self.decoder} <= set(av.codecs_available)

    def encode(self, frames_u8: np.ndarray, fps: Fraction, crf: int) -> ClassicResult:
        """Encode and decode T x H x W x 3 frames at one CRF; bytes from the packets."""
        height, width = frames_u8.shape[1:3]
        encoder = av.CodecContext.create(self.codec, "w")
        encoder.width, encoder.height = width, height
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = 1 / Fraction(fps)
        encoder.framerate = Fraction(fps)
        encoder.options = {**self.options, "preset": self.preset, "crf": str(crf)}
        start = time.perf_counter()
        packets = []
        for index, rgb in enumerate(frames_u8):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            packets += encoder.encode(frame)
        packets += encoder.encode(None)
        encode_seconds = time.perf_counter() - start
        start = time.perf_counter()
        decoder = av.CodecContext.create(self.decoder, "r")
        decoded = []
        for packet in [*packets, None]:
            decoded += [f.to_ndarray(format="rgb24") for f in decoder.decode(packet)]
        decode_seconds = time.perf_counter() - start
        return ClassicResult(
            sum(p.size for p in packets), np.stack(decoded), encode_seconds, decode_seconds
        )


@dataclass(frozen=True)
class ClassicResult:
    bytes: int
    frames_u8: np.ndarray
    encode_seconds: float
    decode_seconds: float


_X265_QUIET = {"x265-params": "log-level=error"}
X265_MEDIUM = ClassicCodec("x265 medium", "libx265", "hevc", "medium", _X265_QUIET, (0, 51), 28)
X265_VERYSLOW = ClassicCodec(
    "x265 veryslow", "libx265", "hevc", "veryslow", _X265_QUIET, (0, 51), 28
)
X264_MEDIUM = ClassicCodec("x264 medium", "libx264", "h264", "medium", {}, (0, 51), 23)
SVTAV1_8 = ClassicCodec("SVT-AV1 preset 8", "libsvtav1", "libdav1d", "8", {}, (1, 63), 35)

CODECS = {
    "x265-medium": X265_MEDIUM,
    "x265-veryslow": X265_VERYSLOW,
    "x264-medium": X264_MEDIUM,
    "svtav1-8": SVTAV1_8,
}
"""The codecs of the RD benchmark by command-line name; x265 medium is the BD anchor."""


def span_crfs(
    bpp_at: Callable[[int], float],
    codec: ClassicCodec,
    bpp_range: tuple[float, float],
    count: int,
) -> list[int]:
    """`count` CRFs, evenly spaced, from the largest whose rate still reaches the top of
    `bpp_range` to the smallest whose rate is at or below its bottom, within the codec's CRF
    scale. A span of fewer than `count` CRFs (a range the codec cannot reach, or a narrow one)
    is widened around its middle. `bpp_at` should cache: the search calls it about
    2 log2(scale) times."""
    low_bpp, high_bpp = bpp_range
    floor, ceiling = codec.crf_range
    first = max(_first_crf(lambda crf: bpp_at(crf) < high_bpp, codec) - 1, floor)
    last = min(_first_crf(lambda crf: bpp_at(crf) <= low_bpp, codec), ceiling)
    if last - first + 1 < count:
        first = min(max((first + last + 1 - count) // 2, floor), ceiling + 1 - count)
        last = first + count - 1
    return sorted({round(c) for c in np.linspace(first, last, count)})


def _first_crf(holds: Callable[[int], bool], codec: ClassicCodec, step: int = 6) -> int:
    """The smallest CRF where `holds` (false below, true above), or the scale's top + 1.

    Rate roughly halves every 6 CRF steps, so galloping from the codec's mid-quality start in
    steps of 6 brackets the answer in a few encodes; bisection then finds it exactly.
    """
    low, high = codec.crf_range
    if holds(codec.crf_start):
        bad, good = codec.crf_start - step, codec.crf_start
        while bad > low and holds(bad):
            bad, good = bad - step, bad
        if bad <= low:
            if holds(low):
                return low
            bad = low
    else:
        bad, good = codec.crf_start, codec.crf_start + step
        while good < high and not holds(good):
            bad, good = good, good + step
        if good >= high:
            if not holds(high):
                return high + 1
            good = high
    while good - bad > 1:
        middle = (bad + good) // 2
        bad, good = (bad, middle) if holds(middle) else (middle, good)
    return good
