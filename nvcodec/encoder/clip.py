"""The clip an encode fits: frames read from a file as they are needed or taken from an array,
a range of them, resized as asked."""

from __future__ import annotations

import os
from collections.abc import Generator
from fractions import Fraction

import numpy as np

from nvcodec.bitstream.cfv import MAX_FRAMES
from nvcodec.decoder.pipeline import frame_slice
from nvcodec.errors import VideoError
from nvcodec.io.raw import raw_format
from nvcodec.io.video import count_frames, resize_frames, stream_video
from nvcodec.model.canvas import parse_fps

DEFAULT_FPS = Fraction(25)


def input_frames(
    input: str | os.PathLike | np.ndarray,
    fps: Fraction | float | str | None,
    frames: tuple[int | None, int | None] | None,
    size: tuple[int, int] | None,
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
) -> tuple[Fraction, int | None, Generator[np.ndarray, None, None]]:
    """The frames to encode, H x W x 3 uint8 each, decoded one at a time as they are read, with
    their rate and their count (None where the input cannot tell without being read, as stdin).

    `input` is a path FFmpeg reads or anything numpy turns into a T x H x W x 3 uint8 array (at
    25 fps unless `fps` says otherwise; `fps` also overrides a file's rate); `frames` = (start,
    stop) selects some, `size` = (width, height) resizes them. Raw YUV takes the `input_res`
    and `pix_fmt` these leave out from its name (`nvcodec.io.raw.raw_format`)."""
    start, stop = frames if frames is not None else (None, None)
    fps = None if fps is None else parse_fps(fps)
    if not isinstance(input, str | os.PathLike):
        clip = _as_frames(input)
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or not clip.size:
            raise VideoError(f"expected T x H x W x 3 uint8 frames, got {clip.dtype} {clip.shape}")
        clip = clip[frame_slice(start, stop, len(clip))]
        if size is not None and size != (clip.shape[2], clip.shape[1]):
            clip = resize_frames(clip, size)
        _check_count(len(clip))
        return fps or DEFAULT_FPS, len(clip), (np.ascontiguousarray(frame) for frame in clip)
    raw = raw_format(str(input), input_res, pix_fmt)
    clip_fps, decoded = stream_video(input, start or 0, stop, size, fps=fps, raw=raw)
    total = count_frames(input, start or 0, stop, fps=fps, raw=raw)
    if total is not None:
        _check_count(total)
    return clip_fps, total, decoded


def _check_count(count: int) -> None:
    if count > MAX_FRAMES:
        raise VideoError(f"{count} frames are more than the {MAX_FRAMES} a .cfv file holds")


def _as_frames(input: object) -> np.ndarray:
    """Frames from anything numpy converts (an array, a list of frames, a CPU tensor)."""
    if hasattr(input, "read"):
        raise VideoError("encode reads a video from a path, or frames from an array")
    try:
        clip = np.asarray(input)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise VideoError(f"expected a path or T x H x W x 3 uint8 frames ({exc})") from None
    if clip.dtype == object:
        kind = type(input).__name__
        raise VideoError(f"expected a path or T x H x W x 3 uint8 frames, got a {kind}")
    return clip
