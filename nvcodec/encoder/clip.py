"""The clip an encode fits: frames read from a file or taken from an array, a range of them,
resized as asked."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from nvcodec.bitstream.cfv import MAX_FRAMES
from nvcodec.decoder.pipeline import frame_slice
from nvcodec.errors import VideoError
from nvcodec.io.raw import raw_format
from nvcodec.io.video import read_video, resize_frames
from nvcodec.model.canvas import parse_fps

DEFAULT_FPS = Fraction(25)


def input_clip(
    input: str | os.PathLike | np.ndarray,
    fps: Fraction | float | str | None,
    frames: tuple[int | None, int | None] | None,
    size: tuple[int, int] | None,
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
) -> tuple[np.ndarray, Fraction]:
    """The frames to encode, T x H x W x 3 uint8, and their rate: from a path FFmpeg reads or
    from anything numpy turns into such an array (at 25 fps unless `fps` says otherwise; `fps`
    also overrides a file's rate), frames [start, stop) of it, resized to `size` = (width,
    height). Raw YUV takes the `input_res` and `pix_fmt` these leave out from its name
    (`nvcodec.io.raw.raw_format`)."""
    start, stop = frames if frames is not None else (None, None)
    fps = None if fps is None else parse_fps(fps)
    if not isinstance(input, str | os.PathLike):
        clip = _as_frames(input)
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or not clip.size:
            raise VideoError(f"expected T x H x W x 3 uint8 frames, got {clip.dtype} {clip.shape}")
        clip = clip[frame_slice(start, stop, len(clip))]
        if size is not None and size != (clip.shape[2], clip.shape[1]):
            clip = resize_frames(clip, size)
        clip_fps = DEFAULT_FPS
    else:
        raw = raw_format(str(input), input_res, pix_fmt)
        video = read_video(input, start or 0, stop, size, fps=fps, raw=raw)
        clip, clip_fps = video.frames_u8, video.fps
    if fps is not None:
        clip_fps = fps
    if len(clip) > MAX_FRAMES:
        raise VideoError(f"{len(clip)} frames are more than the {MAX_FRAMES} a .cfv file holds")
    return np.ascontiguousarray(clip), clip_fps


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
