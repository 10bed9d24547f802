"""Classic codecs through PyAV's bundled FFmpeg, fed and read as raw planes.

The RGB frames are converted to the encoder's pixel format by `nvcodec.io.colour` (4:2:0,
4:4:4) or reordered (`gbrp`, RGB coded as it is), copied straight into the frames' planes, and
the decoded planes are read back the same way and converted with the same matrix: swscale is
never on the measured path. bpp counts the encoded packets' bytes (no container overhead).
`span_crfs` picks the CRFs whose rates cover a given bpp range, so a classic curve always
brackets the curve it is compared with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from nvcodec.errors import VideoError
from nvcodec.io.colour import Colour, Yuv, rgb_to_yuv, yuv_to_rgb

# SVT-AV1 prints a page of configuration to stderr per encoder unless told to log errors only.
os.environ.setdefault("SVT_LOG", "1")

CHROMA = {"yuv420p": "4:2:0", "yuv444p": "4:4:4"}
"""The YUV pixel formats the bench feeds, by their chroma format; `gbrp` is RGB."""


@dataclass(frozen=True)
class ClassicCodec:
    """One encoder setting: FFmpeg encoder and decoder, pixel format, preset, CRF scale and
    other options."""

    name: str
    codec: str
    decoder: str
    pix_fmt: str
    preset: str
    options: dict[str, str]
    crf_range: tuple[int, int]
    crf_start: int
    """Where the CRF search starts: a mid-quality setting for this codec."""

    def available(self) -> bool:
        """Whether PyAV's FFmpeg has both the encoder and the decoder."""
        return {self.codec, self.decoder} <= set(av.codecs_available)

    def encode(self, frames_u8: np.ndarray, fps: Fraction, crf: int, colour: Colour) -> Encoded:
        """Encode and decode T x H x W x 3 frames at one CRF; bytes from the packets."""
        height, width = frames_u8.shape[1:3]
        encoder = av.CodecContext.create(self.codec, "w")
        encoder.width, encoder.height = width, height
        encoder.pix_fmt = self.pix_fmt
        encoder.time_base = 1 / Fraction(fps)
        encoder.framerate = Fraction(fps)
        encoder.options = {**self.options, "preset": self.preset, "crf": str(crf)}
        start = time.perf_counter()
        packets = []
        for index, rgb in enumerate(frames_u8):
            frame = av.VideoFrame(width, height, self.pix_fmt)
            write_planes(frame, self.to_planes(rgb, colour))
            frame.pts = index
            packets += encoder.encode(frame)
        packets += encoder.encode(None)
        encode_seconds = time.perf_counter() - start
        start = time.perf_counter()
        decoder = av.CodecContext.create(self.decoder, "r")
        decoded = []
        for packet in [*packets, None]:
            for frame in decoder.decode(packet):
                if frame.format.name != self.pix_fmt:
                    raise VideoError(
                        f"{self.decoder} decoded {frame.format.name}, not {self.pix_fmt}"
                    )
                decoded.append(read_planes(frame))
        rgb = np.stack([self.from_planes(planes, colour) for planes in decoded])
        decode_seconds = time.perf_counter() - start
        if self.pix_fmt == "yuv420p":
            yuv = Yuv(*(np.stack(plane) for plane in zip(*decoded, strict=True)))
        else:
            yuv = rgb_to_yuv(rgb, colour)
        return Encoded(sum(p.size for p in packets), rgb, yuv, encode_seconds, decode_seconds)

    def to_planes(self, rgb_u8: np.ndarray, colour: Colour) -> tuple[np.ndarray, ...]:
        """One H x W x 3 RGB frame as the planes of this codec's pixel format."""
        if self.pix_fmt == "gbrp":
            return rgb_u8[..., 1], rgb_u8[..., 2], rgb_u8[..., 0]
        return rgb_to_yuv(rgb_u8, colour, CHROMA[self.pix_fmt]).planes

    def from_planes(self, planes: tuple[np.ndarray, ...], colour: Colour) -> np.ndarray:
        """The H x W x 3 RGB frame of decoded planes."""
        if self.pix_fmt == "gbrp":
            green, blue, red = planes
            return np.stack([red, green, blue], axis=-1)
        return yuv_to_rgb(Yuv(*planes), colour)


@dataclass(frozen=True)
class Encoded:
    """What one encode gave: its bytes, the decoded RGB frames and their 4:2:0 planes."""

    bytes: int
    rgb: np.ndarray
    yuv: Yuv
    encode_seconds: float
    decode_seconds: float


def write_planes(frame: av.VideoFrame, planes: tuple[np.ndarray, ...]) -> None:
    """Copy 8-bit planes into a frame's buffers, row by row past their padding."""
    for plane, data in zip(frame.planes, planes, strict=True):
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : plane.width] = data


def read_planes(frame: av.VideoFrame) -> tuple[np.ndarray, ...]:
    """Copies of a frame's 8-bit planes without their padding."""
    return tuple(
        np.frombuffer(plane, np.uint8)
        .reshape(plane.height, plane.line_size)[:, : plane.width]
        .copy()
        for plane in frame.planes
    )


_X265_QUIET = {"x265-params": "log-level=error"}


def _x265(name: str, preset: str, pix_fmt: str) -> ClassicCodec:
    return ClassicCodec(name, "libx265", "hevc", pix_fmt, preset, _X265_QUIET, (0, 51), 28)


X265_MEDIUM = _x265("x265 medium", "medium", "yuv420p")
CODECS = {
    "x265-medium": X265_MEDIUM,
    "x265-medium-444": _x265("x265 medium 4:4:4", "medium", "yuv444p"),
    "x265-medium-rgb": _x265("x265 medium RGB", "medium", "gbrp"),
    "x265-veryslow": _x265("x265 veryslow", "veryslow", "yuv420p"),
    "x264-medium": ClassicCodec(
        "x264 medium", "libx264", "h264", "yuv420p", "medium", {}, (0, 51), 23
    ),
    "svtav1-8": ClassicCodec(
        "SVT-AV1 preset 8", "libsvtav1", "libdav1d", "yuv420p", "8", {}, (1, 63), 35
    ),
}
"""The codecs of the RD benchmark by command-line name; x265 medium (4:2:0) is the BD anchor."""


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
