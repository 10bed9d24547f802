"""Raw YUV input: the frame size, pixel format and rate that a headerless .yuv file cannot carry.

They come from options (like x265's --input-res and FFmpeg's -pix_fmt) or from the file name,
as UVG and JVET sequences are named: ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``,
``BasketballDrive_1920x1080_50.yuv``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath

import av

from nvcodec.errors import SettingsError, VideoError

RAW_SUFFIX = ".yuv"
RAW_PIXEL_FORMATS = tuple(
    f"yuv{chroma}p{depth}"
    for chroma in ("420", "422", "444")
    for depth in ("", "10le", "12le", "16le")
)
DEFAULT_PIXEL_FORMAT = "yuv420p"
NAME_EXAMPLE = "clip_1920x1080_50fps_420_10bit.yuv"

_TOKEN_END = r"(?=[_.\-]|$)"
_SIZE = re.compile(r"(?:^|[_.\-])(\d{1,5})x(\d{1,5})" + _TOKEN_END, re.IGNORECASE)
_FPS = re.compile(r"(?:^|[_.\-])(\d+(?:\.\d+)?)fps" + _TOKEN_END, re.IGNORECASE)
_BARE_FPS = re.compile(r"^[_.\-](\d+(?:\.\d+)?)" + _TOKEN_END)
_CHROMA = re.compile(r"(?:^|[_.\-])(?:yuv)?(420|422|444)p?" + _TOKEN_END, re.IGNORECASE)
_DEPTH = re.compile(r"(?:^|[_.\-])(8|10|12|16)-?bits?" + _TOKEN_END, re.IGNORECASE)


@dataclass(frozen=True)
class RawFormat:
    """How to read a raw YUV stream: frame size, FFmpeg pixel format, and the rate if known."""

    width: int
    height: int
    pix_fmt: str = DEFAULT_PIXEL_FORMAT
    fps: Fraction | None = None

    @property
    def bit_depth(self) -> int:
        return av.VideoFormat(self.pix_fmt).components[0].bits

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame: a full-size luma plane and two chroma planes."""
        chroma = self.pix_fmt[3:6]
        chroma_width = math.ceil(self.width / 2) if chroma in ("420", "422") else self.width
        chroma_height = math.ceil(self.height / 2) if chroma == "420" else self.height
        samples = self.width * self.height + 2 * chroma_width * chroma_height
        return samples * (1 if self.bit_depth == 8 else 2)

    def demuxer_options(self, fps: Fraction | None) -> dict[str, str]:
        """FFmpeg's rawvideo options for this layout, at `fps` (else the name's rate, else 25)."""
        rate = fps or self.fps or Fraction(25)
        return {
            "video_size": f"{self.width}x{self.height}",
            "pixel_format": self.pix_fmt,
            "framerate": f"{rate.numerator}/{rate.denominator}",
        }


def raw_format(
    name: str, input_res: tuple[int, int] | None = None, pix_fmt: str | None = None
) -> RawFormat | None:
    """The raw layout of input `name`, or None when it is not raw video.

    An input is raw when it ends in .yuv or when `input_res` or `pix_fmt` is given; what the
    options leave out is read from the name, else 4:2:0 8-bit is assumed, as FFmpeg does.
    """
    if input_res is None and pix_fmt is None and not name.lower().endswith(RAW_SUFFIX):
        return None
    if pix_fmt is not None and pix_fmt not in RAW_PIXEL_FORMATS:
        raise SettingsError(
            f"pixel format {pix_fmt!r} is not one of {', '.join(RAW_PIXEL_FORMATS)}"
        )
    named = parse_raw_name(name)
    size = input_res
    if size is None and named is not None:
        size = named.width, named.height
    if size is None:
        raise SettingsError(
            f"{name}: raw YUV needs its frame size: give --input-res WxH or a name like "
            f"{NAME_EXAMPLE}"
        )
    layout = RawFormat(
        width=size[0],
        height=size[1],
        pix_fmt=pix_fmt or (named.pix_fmt if named is not None else DEFAULT_PIXEL_FORMAT),
        fps=named.fps if named is not None else None,
    )
    _check_file_size(name, layout)
    return layout


def parse_raw_name(name: str) -> RawFormat | None:
    """Size, pixel format and rate from a name like `clip_1920x1080_50fps_420_10bit.yuv`;
    None when the name holds no size."""
    stem = PurePosixPath(name).name
    if stem.lower().endswith(RAW_SUFFIX):
        stem = stem[: -len(RAW_SUFFIX)]
    size = _SIZE.search(stem)
    if size is None:
        return None
    rate = _FPS.search(stem) or _BARE_FPS.match(stem[size.end() :])
    if rate is not None and rate.group(1) in ("420", "422", "444"):
        rate = None  # `_1920x1080_420_...`: the chroma format, not a rate
    chroma = _CHROMA.search(stem)
    depth = _DEPTH.search(stem)
    bits = int(depth.group(1)) if depth else 8
    return RawFormat(
        width=int(size.group(1)),
        height=int(size.group(2)),
        pix_fmt=f"yuv{chroma.group(1) if chroma else '420'}p" + ("" if bits == 8 else f"{bits}le"),
        fps=None if rate is None else Fraction(rate.group(1)),
    )


def _check_file_size(name: str, layout: RawFormat) -> None:
    """Refuse a local file that is not a whole number of frames: the size or format is wrong."""
    try:
        size = os.stat(name).st_size
    except OSError:
        return  # a stream, a URL or a missing file: the reader reports what it finds
    if size % layout.frame_bytes:
        raise VideoError(
            f"{name}: {size:,} bytes is not a whole number of {layout.width}x{layout.height} "
            f"{layout.pix_fmt} frames ({layout.frame_bytes:,} bytes each); check --input-res "
            "and --pix-fmt"
        )
