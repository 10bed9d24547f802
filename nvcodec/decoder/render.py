"""Rendering a fitted CoordFlow at any size and any time, in bounded batches."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, blend
from nvcodec.model.coordinates import frame_times, pixel_coordinates
from nvcodec.runtime import flushed_denormals, render_precision, retain_freed_memory

FRAMES_PER_GROUP = 64
CACHED_ACTIVATIONS = 1_500_000
MAX_CPU_RENDER_BATCH = 1 << 15
FRAMES_IN_FLIGHT_BYTES = 1 << 30
"""Memory the frames rendered side by side may hold: raw layer outputs of large frames are
hundreds of megabytes each."""
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class LayeredFrame:
    """One rendered frame with its decomposition: blended RGB, each layer's RGB, the softmax
    weights (alpha maps) of the layers; all float32 in [0, 1]."""

    rgb: np.ndarray  # H x W x 3
    layer_rgb: np.ndarray  # layers x H x W x 3
    alpha: np.ndarray  # layers x H x W


@torch.no_grad()
def render_raw(
    model: CoordFlow,
    canvas: Canvas,
    width: int,
    height: int,
    source_frames: torch.Tensor,
    batch_pixels: int | None = None,
    zoom: float = 1.0,
    transforms: Callable[[torch.Tensor], torch.Tensor] | None = None,
    finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
    fused: bool = True,
    workers: int | None = None,
    precision: torch.dtype | None = None,
) -> Iterator[torch.Tensor]:
    """Raw layer outputs [layers, H * W, 4] of each requested frame, in order, or with
    `finish`, what it makes of each chunk's raw outputs [layers, n, 4] ([n, ...]), joined into
    [H * W, ...] per frame.

    Each frame is evaluated in chunks of `batch_pixels` (`default_render_batch` of the
    device when not given), so memory stays bounded at any resolution; a `finish` per chunk
    (the blend to RGB, say) works on outputs still in the caches and keeps only its own
    result. `zoom` widens the sampled window around the frame's centre; `transforms`, given
    source frame numbers [F], returns the [layers, F, 2, 3] matrices to use instead of the
    flow's own. `fused` lets a CPU run the colour nets as fused oneDNN calls
    (`StackedMLP.evaluator`). `precision` is the colour nets' products' dtype
    (`render_precision` of the device when not given).

    `workers` frames render side by side, one thread each (`in_order`); by default one per
    thread on a CPU (`frame_workers`): a frame's small operations keep one core busy better
    than they split over two. Torch then runs single-threaded until the generator finishes or
    is closed.
    """
    device = next(model.parameters()).device
    batch_pixels = batch_pixels or default_render_batch(model.config, device)
    x, y = pixel_coordinates(canvas, width, height, zoom)
    grid = torch.stack(torch.meshgrid(y, x, indexing="ij")[::-1], dim=-1).reshape(-1, 2).to(device)
    per_frame = width * height
    layers = model.config.num_layers
    dtype = precision or render_precision(device)
    if device.type == "cpu":
        retain_freed_memory()

    @torch.no_grad()
    def frame_output(evaluate: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        with flushed_denormals(device):
            if finish is None:
                out = torch.empty(layers, per_frame, 4, device=device)
                for start in range(0, per_frame, batch_pixels):
                    stop = min(start + batch_pixels, per_frame)
                    out[:, start:stop] = evaluate(grid[start:stop])
                return out
            chunks = [
                finish(evaluate(grid[start : start + batch_pixels]))
                for start in range(0, per_frame, batch_pixels)
            ]
            return torch.cat(chunks) if len(chunks) > 1 else chunks[0]

    def evaluators() -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
        # Frame terms are cheap but not free at thousands of frames: a few frames at a time.
        for first in range(0, len(source_frames), FRAMES_PER_GROUP):
            frames = source_frames[first : first + FRAMES_PER_GROUP]
            terms = model.frame_terms(frame_times(canvas, frames).to(device))
            if transforms is not None:
                terms = (transforms(frames).to(device=device, dtype=torch.float32), terms[1])
            for frame in range(len(frames)):
                yield model.frame_evaluator(frame, terms, dtype, fused)

    if workers is None:
        # Without `finish` a frame waits as its [layers, H * W, 4] float32 outputs.
        waiting_bytes = layers * per_frame * 4 * torch.float32.itemsize if finish is None else 0
        workers = frame_workers(device, len(source_frames), waiting_bytes)
    yield from in_order(frame_output, evaluators(), workers)


def frame_workers(device: torch.device, frames: int, frame_bytes: int = 0) -> int:
    """Frames rendered side by side: one per intra-op thread on a CPU, as many as keep the
    finished frames that wait (`frame_bytes` each) within FRAMES_IN_FLIGHT_BYTES; one on a
    GPU."""
    if device.type != "cpu":
        return 1
    return max(
        1, min(frames, torch.get_num_threads(), FRAMES_IN_FLIGHT_BYTES // max(1, frame_bytes))
    )


def in_order(work: Callable[[T], R], items: Iterator[T], workers: int) -> Iterator[R]:
    """`work` of each item, in the items' order, computed by `workers` threads that each run
    torch single-threaded (inline when `workers` is 1); at most `workers` results wait."""
    if workers <= 1:
        yield from map(work, items)
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pending: deque[Future[R]] = deque()
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="render") as pool:
            try:
                for item in items:
                    pending.append(pool.submit(work, item))
                    if len(pending) == workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
    finally:
        torch.set_num_threads(threads)


def default_render_batch(config: ModelConfig, device: torch.device) -> int:
    """Pixels per rendering chunk.

    On a CPU, few enough that a chunk's activations (about CACHED_ACTIVATIONS floats over all
    layers) stay in the cores' caches, and no more: a wide MLP renders several times faster in
    small chunks than in large ones. A narrow network, as the grid model's, is cheap per pixel,
    and the fixed cost of each chunk's few dozen operations decides instead, so chunks grow to
    MAX_CPU_RENDER_BATCH (`python -m tools.bench.render_grid --batch` measures both ways). A GPU
    needs large batches to fill its units.
    """
    if device.type != "cpu":
        return 1 << 18
    fitting = CACHED_ACTIVATIONS / (config.num_layers * config.colour_width)
    return 1 << min(MAX_CPU_RENDER_BATCH.bit_length() - 1, max(9, round(math.log2(fitting))))


def render(
    model: CoordFlow,
    canvas: Canvas,
    width: int,
    height: int,
    source_frames: torch.Tensor,
    batch_pixels: int | None = None,
    fused: bool = True,
    workers: int | None = None,
    precision: torch.dtype | None = None,
) -> Iterator[np.ndarray]:
    """Blended frames as H x W x 3 uint8 arrays (`fused`, `workers` and `precision` as in
    `render_raw`)."""
    for rgb in render_raw(
        model,
        canvas,
        width,
        height,
        source_frames,
        batch_pixels,
        finish=blended_codes,
        fused=fused,
        workers=workers,
        precision=precision,
    ):
        yield rgb.reshape(height, width, 3).cpu().numpy()


def render_layers(
    model: CoordFlow,
    canvas: Canvas,
    width: int,
    height: int,
    source_frames: torch.Tensor,
    batch_pixels: int | None = None,
) -> Iterator[LayeredFrame]:
    """Frames with their per-layer RGB and softmax alpha maps."""
    layers = model.config.num_layers
    for raw in render_raw(model, canvas, width, height, source_frames, batch_pixels):
        rgb, layer_rgb, alpha = blend(raw)
        yield LayeredFrame(
            rgb.reshape(height, width, 3).clamp(0, 1).cpu().numpy(),
            layer_rgb.reshape(layers, height, width, 3).clamp(0, 1).cpu().numpy(),
            alpha.reshape(layers, height, width).cpu().numpy(),
        )


def codes(rgb: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats to uint8 codes with rounding to nearest, on their device."""
    return (rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)


def blended_codes(raw: torch.Tensor) -> torch.Tensor:
    """Raw layer outputs [layers, n, 4] blended to uint8 RGB [n, 3]."""
    return codes(blend(raw)[0])
