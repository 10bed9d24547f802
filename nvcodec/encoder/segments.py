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
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import torch

from nvcodec.bitstream.cfv import parse_cfv, replace_metadata
from nvcodec.bitstream.segments import join_segments, probe_cfv
from nvcodec.encoder.fit import FitConfig
from nvcodec.encoder.parts import WorkDir
from nvcodec.encoder.pipeline import EncodedClip, encode_clip
from nvcodec.errors import NvcodecError, SettingsError
from nvcodec.metrics import psnr_from_mse
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


def cut(frames: Iterator[np.ndarray], length: int) -> Iterator[np.ndarray]:
    """Consecutive segments of `length` frames as T x H x W x 3 arrays, read as they are
    needed; a remainder shorter than half a segment joins the last one."""
    pending: list[np.ndarray] = []
    for frame in frames:
        pending.append(frame)
        if len(pending) == length + (length + 1) // 2:
            yield np.stack(pending[:length])
            pending = pending[length:]
    if len(pending) > length and len(pending) - length >= (length + 1) // 2:
        yield np.stack(pending[:length])
        pending = pending[length:]
    if pending:
        yield np.stack(pending)


@dataclass(frozen=True)
class SegmentTask:
    """What a worker needs to encode one segment: its frames and its share of the budget."""

    number: int
    first: int
    frames_u8: np.ndarray
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
        task.frames_u8,
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

    def task(self, number: int, first: int, frames_u8: np.ndarray, fps: Fraction) -> SegmentTask:
        """Segment `number`'s task: parameters and seconds in proportion to its frames."""
        share = None if self.total_frames is None else len(frames_u8) / self.total_frames
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
            first,
            frames_u8,
            fps,
            fit_config,
            params,
            self.bpp,
            self.layers,
            self.representation,
            seconds,
            threads,
        )


SegmentDone = Callable[[int, int, bytes, bool], None]
"""Called as each segment is ready: its number, first frame, file, and whether it was resumed."""


def encode_segments(
    segments: Iterator[np.ndarray],
    fps: Fraction,
    plan: SegmentPlan,
    *,
    work_dir: WorkDir | None = None,
    ray_address: str | None = None,
    on_segment: SegmentDone | None = None,
) -> list[bytes]:
    """Every segment's one-model file in frame order, fitting at most `plan.jobs` (or with Ray,
    as many as the cluster runs) at once and reading the next segment only when one is free."""
    runner = _runner(plan, ray_address)
    done: dict[int, bytes] = {}
    running: dict[futures.Future, SegmentTask] = {}
    first = 0

    def finish(future: futures.Future, task: SegmentTask) -> None:
        data = future.result()
        if work_dir is not None:
            work_dir.save(task.number, data)
        done[task.number] = data
        if on_segment is not None:
            on_segment(task.number, task.first, data, False)

    try:
        for number, frames_u8 in enumerate(segments):
            kept = None if work_dir is None else work_dir.part(number, len(frames_u8))
            if kept is not None:
                done[number] = kept
                if on_segment is not None:
                    on_segment(number, first, kept, True)
            else:
                while len(running) >= runner.capacity:
                    _wait_one(running, finish)
                task = plan.task(number, first, frames_u8, fps)
                running[runner.submit(task)] = task
            first += len(frames_u8)
            del frames_u8
        while running:
            _wait_one(running, finish)
    finally:
        for future in running:
            future.cancel()
        runner.close(abort=bool(running))
    return [done[number] for number in sorted(done)]


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


def joined_clip(parts: list[bytes], metadata: dict) -> EncodedClip:
    """The file of these segments and what their encodes measured, as one encode's result:
    PSNRs from the mean squared error over all frames."""
    infos = [parse_cfv(part).info for part in parts]
    metas = [info.metadata for info in infos]
    per_frame = [
        math.inf if p is None else p for meta in metas for p in meta.get("psnr_per_frame", [])
    ]
    segments = [
        {k: v for k, v in meta.items() if k not in ("psnr_per_frame", "warnings")} for meta in metas
    ]
    data = join_segments(parts, {**metadata, "segments": segments})
    frames = [info.canvas.num_frames for info in infos]
    first = metas[0]
    return EncodedClip(
        data=data,
        info=probe_cfv(data),
        psnr=_combined_psnr([m.get("psnr") for m in metas], frames),
        psnr_unquantized=_combined_psnr([m.get("psnr_unquantized") for m in metas], frames),
        psnr_per_frame=per_frame,
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
    errors = [0.0 if p is None else PEAK**2 * 10.0 ** (-p / 10.0) for p in psnrs]
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
