"""Encoding by segments: the clip cut into time ranges as it is read, each fitted as a model of
its own, in this process, in worker processes (`jobs`) or as Ray tasks, and joined into one file.

Each segment gets its share of the clip's budget (parameters and wall time in proportion to its
frames; the same bpp target and rate weight), finished segments are kept in a work directory
so an interrupted encode resumes, and at most the segments in flight are ever in memory.
"""

from __future__ import annotations

import concurrent.futures as futures
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import torch

from nvcodec.bitstream.cfv import parse_cfv, replace_metadata
from nvcodec.bitstream.segments import join_segments, probe_cfv
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.encoder.fit import FitConfig
from nvcodec.encoder.parts import WorkDir
from nvcodec.encoder.pipeline import EncodedClip, encode_clip
from nvcodec.errors import NvcodecError, SettingsError
from nvcodec.metrics import mean_squared_error, mse_from_psnr, psnr_from_mse
from nvcodec.settings import DEFAULT_SEGMENT_SECONDS, ONE_SEGMENT_SECONDS

PEAK = 255.0


def segment_frames_for(total: int | None, fps: Fraction, asked: int | None) -> int | None:
    """Frames per segment: the length asked for, else DEFAULT_SEGMENT_SECONDS for a clip
    longer than ONE_SEGMENT_SECONDS; None (one segment) for a shorter clip or one of unknown
    length (stdin), which is read whole."""
    if asked is not None:
        return asked
    if total is None or total <= ONE_SEGMENT_SECONDS * fps:
        return None
    return max(1, round(DEFAULT_SEGMENT_SECONDS * fps))


@dataclass(frozen=True)
class Window:
    """A segment as it is fitted: it owns frames [first, first + frames) of the clip, and its
    model also sees the `lead` frames before and the `tail` frames after them (the overlaps
    the decoder cross-fades); `frames_u8` holds all lead + frames + tail of them."""

    first: int
    frames: int
    lead: int
    tail: int
    frames_u8: np.ndarray

    @property
    def stop_tail(self) -> int:
        """The frame after the last the model sees."""
        return self.first + self.frames + self.tail


def cut(frames: Iterator[np.ndarray], length: int, overlap: int = 0) -> Iterator[Window]:
    """Consecutive segments of `length` frames, read as they are needed, each with up to
    `overlap` frames of its neighbours either side (fewer where segments are too short for
    them); a remainder shorter than half a segment joins the last segment."""
    half = (length + 1) // 2
    overlap = min(overlap, (half - 1) // 2)  # a frame of each segment stays its own
    history: list[np.ndarray] = []  # the end of the previous segment, its next one's lead
    pending: list[np.ndarray] = []
    first = 0

    def window(owned: int, last: bool) -> Window:
        nonlocal history, pending, first
        tail = [] if last else pending[owned : owned + overlap]
        made = Window(
            first, owned, len(history), len(tail), np.stack(history + pending[:owned] + tail)
        )
        history = pending[owned - overlap : owned] if overlap else []
        pending = pending[owned:]
        first += owned
        return made

    for frame in frames:
        pending.append(frame)
        if len(pending) == length + half + overlap:
            yield window(length, last=False)
    if len(pending) >= length + half:
        yield window(length, last=False)
    if pending:
        yield window(len(pending), last=True)


@dataclass(frozen=True)
class SegmentTask:
    """What a worker needs to encode one segment: its frames and its share of the budget."""

    number: int
    window: Window
    fps: Fraction
    fit_config: FitConfig
    params: int | None
    bpp: float | None
    layers: int
    representation: str
    budget_seconds: float | None
    threads: int | None


def encode_segment(task: SegmentTask) -> bytes:
    """One segment's one-model file, with its per-frame PSNRs in its metadata. Runs in a worker
    process or a Ray task as well as here."""
    if task.threads is not None:
        torch.set_num_threads(task.threads)
    encoded = encode_clip(
        task.window.frames_u8,
        task.fps,
        task.fit_config,
        params=task.params,
        bpp=task.bpp,
        layers=task.layers,
        representation=task.representation,
        budget_seconds=task.budget_seconds,
    )
    per_frame = [round(p, 4) if math.isfinite(p) else None for p in encoded.psnr_per_frame]
    extra = {"psnr_per_frame": per_frame, "warnings": encoded.warnings}
    return replace_metadata(encoded.data, {**encoded.info.metadata, **extra})


@dataclass(frozen=True)
class SegmentPlan:
    """How an encode is cut and budgeted: `segment_frames` per segment from a clip of about
    `total_frames` (None when unknown), `jobs` segments at a time."""

    segment_frames: int
    total_frames: int | None
    params: int | None
    bpp: float | None
    layers: int
    representation: str
    fit_config: FitConfig
    budget_seconds: float | None
    jobs: int

    def task(self, number: int, window: Window, fps: Fraction) -> SegmentTask:
        """Segment `number`'s task: parameters and seconds in proportion to the frames it
        owns."""
        share = None if self.total_frames is None else window.frames / self.total_frames
        if (self.params is not None or self.budget_seconds is not None) and share is None:
            raise SettingsError(
                "a parameter or time budget is split by the clip's length, which this input "
                "does not give; encode from a file, or give --bpp or --epochs instead"
            )
        params = None if self.params is None else max(1, round(self.params * share))
        seconds = None
        fit_config = self.fit_config
        if self.budget_seconds is not None:
            # Segments run `jobs` at a time, each on its share of the cores.
            seconds = self.budget_seconds * self.jobs * share
            fit_config = replace(fit_config, seconds=seconds)
        threads = None if self.jobs == 1 else max(1, (os.cpu_count() or 1) // self.jobs)
        return SegmentTask(
            number,
            window,
            fps,
            fit_config,
            params,
            self.bpp,
            self.layers,
            self.representation,
            seconds,
            threads,
        )


SegmentDone = Callable[[int, int, int, bytes, bool], None]
"""Called as each segment is ready: its number, first frame and frame count (those it owns),
its file, and whether it was kept from an interrupted run."""


@dataclass
class EncodedSegments:
    """Each segment's one-model file and window (`Window.frames_u8` dropped), and the squared
    error of each frame the decoder cross-fades, by frame number, measured as each boundary's
    two segments are done (so the source frames there are never kept longer)."""

    parts: list[bytes] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    faded_errors: dict[int, float] = field(default_factory=dict)


def encode_segments(
    windows: Iterator[Window],
    fps: Fraction,
    plan: SegmentPlan,
    *,
    work_dir: WorkDir | None = None,
    ray_address: str | None = None,
    on_segment: SegmentDone | None = None,
) -> EncodedSegments:
    """Every segment's file in frame order, fitting at most `plan.jobs` (or with Ray, as many
    as the cluster runs) at once and reading the next segment only when one is free."""
    runner = _runner(plan, ray_address)
    done: dict[int, bytes] = {}
    result = EncodedSegments()
    running: dict[futures.Future, SegmentTask] = {}
    faded: dict[int, dict[int, np.ndarray]] = {}  # boundary after segment n: its source frames

    def ready(number: int, window: Window, data: bytes, resumed: bool) -> None:
        done[number] = data
        for boundary in (number - 1, number):
            if boundary in faded and boundary in done and boundary + 1 in done:
                pair = result.windows[boundary : boundary + 2]
                sources = faded.pop(boundary)
                errors = boundary_errors(done[boundary], done[boundary + 1], pair, sources)
                result.faded_errors.update(errors)
        if on_segment is not None:
            on_segment(number, window.first, window.frames, data, resumed)

    def finish(future: futures.Future, task: SegmentTask) -> None:
        data = future.result()
        if work_dir is not None:
            work_dir.save(task.number, data)
        ready(task.number, task.window, data, False)

    try:
        for number, window in enumerate(windows):
            if window.tail:
                start, fade = window.first - window.lead, window.stop_tail - 2 * window.tail
                faded[number] = {
                    frame: window.frames_u8[frame - start].copy()
                    for frame in range(fade, window.stop_tail)
                }
            result.windows.append(replace(window, frames_u8=np.empty(0, np.uint8)))
            kept = None if work_dir is None else work_dir.part(number, len(window.frames_u8))
            if kept is not None:
                ready(number, window, kept, True)
                continue
            while len(running) >= runner.capacity:
                _wait_one(running, finish)
            task = plan.task(number, window, fps)
            running[runner.submit(task)] = task
            del window, task
        while running:
            _wait_one(running, finish)
    finally:
        for future in running:
            future.cancel()
        runner.close(abort=bool(running))
    result.parts = [done[number] for number in sorted(done)]
    return result


def _wait_one(
    running: dict[futures.Future, SegmentTask],
    finish: Callable[[futures.Future, SegmentTask], None],
) -> None:
    finished, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
    for future in finished:
        task = running.pop(future)
        try:
            finish(future, task)
        except BrokenProcessPool:
            raise NvcodecError(
                f"a worker stopped while encoding segment {task.number}; finished segments are "
                "kept: run the same command with --resume"
            ) from None


def boundary_errors(
    before: bytes, after: bytes, windows: list[Window], sources: dict[int, np.ndarray]
) -> dict[int, float]:
    """The squared error of each source frame (by frame number) that the decoder cross-fades
    at the boundary between two neighbouring segments, rendered from a file of just these two
    (the earlier one owning its lead, the later one its tail, so times shift by the first's
    start)."""
    first, second = windows
    pair = join_segments([before, after], None, [(0, first.tail), (second.lead, 0)])
    clip = ClipModels.open(pair, torch.device("cpu"))
    numbers = sorted(sources)
    times = torch.tensor(numbers, dtype=torch.float64) - (first.first - first.lead)
    rendered = clip.render(View(), clip.canvas.width, clip.canvas.height, times)
    return {
        number: mean_squared_error(sources[number], frame)
        for number, frame in zip(numbers, rendered, strict=True)
    }


def joined_clip(encoded: EncodedSegments, metadata: dict) -> EncodedClip:
    """The file of these segments and what their encodes and boundaries measured, as one
    encode's result."""
    infos = [parse_cfv(part).info for part in encoded.parts]
    metas = [info.metadata for info in infos]
    margins = [(window.lead, window.tail) for window in encoded.windows]
    segments = [
        {k: v for k, v in meta.items() if k not in ("psnr_per_frame", "warnings")} for meta in metas
    ]
    data = join_segments(encoded.parts, {**metadata, "segments": segments}, margins)
    errors = []  # per frame of the clip
    for window, meta in zip(encoded.windows, metas, strict=True):
        own = meta["psnr_per_frame"][window.lead : window.lead + window.frames]
        errors += [0.0 if p is None else mse_from_psnr(p, PEAK) for p in own]
    for number, error in encoded.faded_errors.items():
        errors[number] = error
    first = metas[0]
    frames = [window.frames for window in encoded.windows]
    return EncodedClip(
        data=data,
        info=probe_cfv(data),
        psnr=psnr_from_mse(float(np.mean(errors)), PEAK),
        psnr_unquantized=_combined_psnr([m.get("psnr_unquantized") for m in metas], frames),
        psnr_per_frame=[psnr_from_mse(error, PEAK) for error in errors],
        qmax=tuple(first.get("qmax", ())),
        epochs=float(np.average([m.get("epochs", 0.0) for m in metas], weights=frames)),
        fit_seconds=float(sum(m.get("fit_seconds", 0.0) for m in metas)),
        device=str(first.get("device", "")),
        precision=str(first.get("precision", "")),
        rate_lambda=first.get("rate_lambda"),
        warnings=[f"segment {n}: {w}" for n, m in enumerate(metas) for w in m.get("warnings", [])],
    )


def _combined_psnr(psnrs: list[float | None], frames: list[int]) -> float:
    """The PSNR of the mean squared error over all frames, from each segment's PSNR."""
    errors = [0.0 if p is None else mse_from_psnr(p, PEAK) for p in psnrs]
    return psnr_from_mse(float(np.average(errors, weights=frames)), PEAK)


class _InProcess:
    """Segments one after another in this process."""

    capacity = 1

    def submit(self, task: SegmentTask) -> futures.Future:
        future: futures.Future = futures.Future()
        try:
            future.set_result(encode_segment(task))
        except Exception as exc:  # re-raised by future.result(), as a worker's would be
            future.set_exception(exc)
        return future

    def close(self, abort: bool) -> None:
        pass


class _Processes:
    """Segments in `jobs` worker processes (spawned: torch's threads do not survive a fork)."""

    def __init__(self, jobs: int) -> None:
        self.capacity = jobs
        context = multiprocessing.get_context("spawn")
        self._pool = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context)

    def submit(self, task: SegmentTask) -> futures.Future:
        return self._pool.submit(encode_segment, task)

    def close(self, abort: bool) -> None:
        """Wait for the workers to exit; when the encode failed, stop them first."""
        if abort:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Ray:
    """Segments as Ray tasks, each asking for its threads' CPUs and, on CUDA, a GPU."""

    def __init__(self, address: str, plan: SegmentPlan) -> None:
        try:
            import ray
        except ImportError:
            raise SettingsError("--ray needs Ray: pip install 'nvcodec[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=None if address == "local" else address, log_to_driver=False)
        cpus = max(1, (os.cpu_count() or 1) // plan.jobs) if plan.jobs > 1 else 1
        gpus = 1 if plan.fit_config.device == "cuda" else 0
        self._task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=2)(encode_segment)
        slots = int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1) // max(cpus, gpus))
        self.capacity = max(plan.jobs, slots, 1)
        self._cpus = cpus

    def submit(self, task: SegmentTask) -> futures.Future:
        return self._task.remote(replace(task, threads=self._cpus)).future()

    def close(self, abort: bool) -> None:
        pass  # the cluster is the user's (or Ray's own local one): tasks end with the driver


def _runner(plan: SegmentPlan, ray_address: str | None) -> _InProcess | _Processes | _Ray:
    if ray_address is not None:
        return _Ray(ray_address, plan)
    return _InProcess() if plan.jobs == 1 else _Processes(plan.jobs)
