"""Video in and out through PyAV: anything FFmpeg reads becomes uint8 RGB frames and a rate."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from nvcodec.errors import SettingsError, VideoError
from nvcodec.settings import check_size

# Largest clip we agree to hold in memory as uint8 RGB; beyond that the request is
# almost certainly a mistake (a typo in -s, a wrong range) rather than a real job.
MAX_CLIP_BYTES = 16 * 2**30


@dataclass(frozen=True)
class Video:
    """A clip in memory: `frames_u8` is T x H x W x 3 uint8 RGB, `fps` the frame rate."""

    frames_u8: np.ndarray
    fps: Fraction

    @property
    def num_frames(self) -> int:
        return int(self.frames_u8.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames_u8.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames_u8.shape[2])


def read_video(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    size: tuple[int, int] | None = None,
) -> Video:
    """Decode frames [start, stop) of the first video stream as RGB, resized to `size` (W, H).

    Resizing uses FFmpeg's area filter while decoding, so a large clip never exists in memory at
    full size.
    """
    path = Path(path)
    if not path.exists() and "%" not in path.name:
        raise VideoError(f"{path}: no such file")
    if start < 0 or (stop is not None and stop <= start):
        raise VideoError(f"empty or negative frame range {start}:{'' if stop is None else stop}")
    if size is not None:
        check_size(*size)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path}: not a readable video ({_reason(exc)})") from None
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: contains no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _frame_rate(stream)
        frames: list[np.ndarray] = []
        clip_bytes = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index < start:
                    continue
                if stop is not None and index >= stop:
                    break
                width, height = size if size is not None else (frame.width, frame.height)
                rgb = frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="AREA"
                ).to_ndarray()
                clip_bytes += rgb.nbytes
                if clip_bytes > MAX_CLIP_BYTES:
                    raise VideoError(
                        f"{path}: the selected frames exceed {MAX_CLIP_BYTES >> 30} GiB as RGB; "
                        "select fewer frames or a smaller size"
                    )
                frames.append(rgb)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path}: decoding failed ({_reason(exc)})") from None
    if not frames and (start, stop) == (0, None):
        raise VideoError(f"{path}: contains no frames")
    if not frames:  # the range asked for lies beyond the clip: a usage mistake
        end = "" if stop is None else stop
        raise SettingsError(f"{path}: no frames in the range {start}:{end}")
    return Video(np.stack(frames), fps)


def resize_frames(frames_u8: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """T x H x W x 3 uint8 frames resized to `size` (W, H) with the filter `read_video` uses."""
    check_size(*size)
    width, height = size
    return np.stack(
        [
            av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            .reformat(width=width, height=height, format="rgb24", interpolation="AREA")
            .to_ndarray()
            for rgb in frames_u8
        ]
    )


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        return Fraction(25)
    return Fraction(rate.numerator, rate.denominator)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def write_video(
    path: str | os.PathLike,
    frames_u8: np.ndarray | Iterable[np.ndarray],
    fps: Fraction,
    lossless: bool = False,
) -> int:
    """Write uint8 RGB frames; the container and codec follow the suffix. Returns the count.

    `frames_u8` is a T x H x W x 3 array or any iterable of H x W x 3 frames, which is written
    as it arrives so a long clip never has to be held in memory.
    `.mp4`: H.264 (yuv420p, CRF 18), or lossless RGB H.264 with `lossless`; `.mkv`: FFV1 RGB,
    always lossless; `.y4m`: raw 4:4:4; a name containing `%d`-style pattern: one PNG per frame.
    """
    path = str(path)
    frames = _checked_frames(frames_u8)
    first = next(frames, None)
    if first is None:
        raise VideoError(f"{path}: no frames to write")
    frames = itertools.chain([first], frames)
    height, width = first.shape[:2]
    if "%" in path:
        return _write_png_sequence(path, frames, width, height)
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise VideoError(
            f"{path}: unknown output type; use .mp4, .mkv, .y4m or a PNG pattern like f_%05d.png"
        )
    codec, pix_fmt, options = VIDEO_SUFFIXES[suffix](lossless)
    if codec == "ffv1" and width == 1:
        # FFV1 splits frames into slices by default, and cannot slice a one-pixel-wide frame.
        options = {**options, "slices": "1"}
    if pix_fmt == "yuv420p" and (width % 2 or height % 2):
        raise VideoError(f"H.264 4:2:0 needs even sizes, got {width}x{height}; use --lossless")
    count = 0
    with av.open(path, mode="w", format="yuv4mpegpipe" if suffix == ".y4m" else None) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame.reformat(format=pix_fmt)):
                out.mux(packet)
            count += 1
        for packet in stream.encode():
            out.mux(packet)
    return count


def _checked_frames(frames_u8: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Contiguous uint8 H x W x 3 frames, all of the first frame's size."""
    if isinstance(frames_u8, np.ndarray) and (frames_u8.ndim != 4 or frames_u8.shape[-1] != 3):
        raise VideoError(f"expected T x H x W x 3 frames, got shape {frames_u8.shape}")
    shape = None
    for frame in frames_u8:
        rgb = np.ascontiguousarray(frame, dtype=np.uint8)
        shape = shape or rgb.shape
        if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.shape != shape:
            raise VideoError(f"expected H x W x 3 frames of one size, got shape {rgb.shape}")
        yield rgb


VIDEO_SUFFIXES = {
    ".mp4": lambda lossless: (
        ("libx264rgb", "rgb24", {"qp": "0", "preset": "medium"})
        if lossless
        else ("libx264", "yuv420p", {"crf": "18", "preset": "medium"})
    ),
    ".mkv": lambda lossless: ("ffv1", "bgr0", {}),
    ".y4m": lambda lossless: ("rawvideo", "yuv444p", {}),
}


def _write_png_sequence(
    pattern: str, frames_u8: Iterable[np.ndarray], width: int, height: int
) -> int:
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "rgb24"
    written: set[str] = set()
    for index, rgb in enumerate(frames_u8):
        name = png_name(pattern, index)
        if name in written:
            raise VideoError(f"{pattern}: the pattern gives the same name to several frames")
        written.add(name)
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        packets = encoder.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
        Path(name).write_bytes(b"".join(bytes(packet) for packet in packets))
    return len(written)


def png_name(pattern: str, index: int) -> str:
    """The file name of frame `index` under a PNG pattern such as `frames/%05d.png`."""
    try:
        return pattern % index
    except (TypeError, ValueError):
        raise VideoError(f"{pattern}: a PNG pattern needs one integer field such as %05d") from None
