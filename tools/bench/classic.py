"""Classic codecs through PyAV's bundled FFmpeg, measured on exactly the frames given.

bpp counts the encoded packets' bytes (no container overhead); PSNR is on RGB after decoding
back and converting with the same swscale path the input took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np


@dataclass(frozen=True)
class ClassicCodec:
    """One encoder setting family: FFmpeg codec name, preset option and the quality knob."""

    name: str
    codec: str
    preset: str
    options: dict[str, str]

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
        seconds = time.perf_counter() - start
        decoder = av.CodecContext.create(self.codec_decoder, "r")
        decoded = []
        for packet in packets:
            decoded += [f.to_ndarray(format="rgb24") for f in decoder.decode(packet)]
        decoded += [f.to_ndarray(format="rgb24") for f in decoder.decode(None)]
        return ClassicResult(sum(p.size for p in packets), np.stack(decoded), seconds)

    @property
    def codec_decoder(self) -> str:
        return {"libx265": "hevc", "libx264": "h264", "libsvtav1": "libdav1d"}.get(
            self.codec, self.codec
        )


@dataclass(frozen=True)
class ClassicResult:
    bytes: int
    frames_u8: np.ndarray
    seconds: float


X265_MEDIUM = ClassicCodec("x265 medium", "libx265", "medium", {"x265-params": "log-level=error"})
X265_VERYSLOW = ClassicCodec(
    "x265 veryslow", "libx265", "veryslow", {"x265-params": "log-level=error"}
)
X264_MEDIUM = ClassicCodec("x264 medium", "libx264", "medium", {})
