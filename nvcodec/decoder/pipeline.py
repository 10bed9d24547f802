"""The decoder's plan: which size, frame rate and frames a request asks of a fitted model, and
the frames rendered for it, one at a time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nvcodec.bitstream.cfv import MAX_FRAMES
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.errors import SettingsError
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordinates import resampled_frames
from nvcodec.settings import check_size


@dataclass(frozen=True)
class DecodeProgress:
    """What a decode progress callback receives after each frame."""

    done: int
    total: int
    seconds: float


@dataclass(frozen=True)
class RenderPlan:
    """Output frames [first, first + count) at `fps`, each width x height."""

    width: int
    height: int
    fps: Fraction
    first: int
    count: int
    frames: Iterator[np.ndarray]


def plan_render(
    clip: ClipModels,
    view: View,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    fps: Fraction | None = None,
    frames: tuple[int | None, int | None] | None = None,
    on_progress: Callable[[DecodeProgress], None] | None = None,
) -> RenderPlan:
    """The frames a decode request asks for, rendered lazily as the plan's iterator is read
    (decoding each segment when its first frame is)."""
    if scale is not None and size is not None:
        raise SettingsError("give --scale or --size, not both")
    canvas = clip.canvas
    width, height = _output_size(canvas, scale, size)
    out_fps = canvas.fps if fps is None else fps
    available = math.ceil(canvas.num_frames * out_fps / canvas.fps)
    if available > MAX_FRAMES:
        raise SettingsError(f"{out_fps} fps gives {available} frames, more than {MAX_FRAMES}")
    wanted = frame_slice(*(frames or (None, None)), available)
    source_frames = resampled_frames(canvas, out_fps)[wanted]
    config = clip.segment(clip.locate(float(source_frames[0]))).model.config
    view.check(config)
    if size is None:
        width, height = view.raster(width, height, config)
    rendered = clip.render(view, width, height, source_frames)
    count = len(source_frames)
    return RenderPlan(
        width, height, out_fps, wanted.start, count, _with_progress(rendered, count, on_progress)
    )


def frame_slice(start: int | None, stop: int | None, count: int) -> slice:
    """Frames [start, stop) of `count`, refusing ranges that select nothing."""
    first = 0 if start is None else start
    last = count if stop is None else stop
    if not 0 <= first < min(last, count) or last < 0:  # the options ask for what is not there
        raise SettingsError(
            f"frame range {first}:{'' if stop is None else stop} selects no frames of 0:{count}"
        )
    return slice(first, min(last, count))


def _output_size(
    canvas: Canvas, scale: float | None, size: tuple[int, int] | None
) -> tuple[int, int]:
    if size is not None:
        width, height = size
    elif scale is not None:
        if not (scale > 0 and math.isfinite(scale)):
            raise SettingsError(f"scale {scale} must be a positive number")
        width = max(1, round(canvas.width * scale))
        height = max(1, round(canvas.height * scale))
    else:
        width, height = canvas.width, canvas.height
    check_size(width, height)
    return width, height


def _with_progress(
    frames: Iterator[np.ndarray],
    total: int,
    on_progress: Callable[[DecodeProgress], None] | None,
) -> Iterator[np.ndarray]:
    started = time.perf_counter()
    for done, frame in enumerate(frames, start=1):
        yield frame
        if on_progress is not None:
            on_progress(DecodeProgress(done, total, time.perf_counter() - started))
