"""encode(), decode() and probe(): what the `cfv` command and Python users call.

Inputs are paths or in-memory data (a uint8 array of frames, the bytes of a .cfv file), so a
notebook needs no subprocess. File outputs are written under a temporary name and renamed when
complete. Errors are :class:`nvcodec.errors.NvcodecError` subclasses with one-line messages.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import fields
from fractions import Fraction

import numpy as np

from nvcodec.decoder.pipeline import DecodeProgress, plan_render
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.encoder.clip import input_frames
from nvcodec.encoder.fit import FitConfig, FitProgress
from nvcodec.encoder.parts import WorkDir, default_work_dir
from nvcodec.encoder.pipeline import EncodedClip, EncodeJob, encode_clip
from nvcodec.encoder.segments import (
    SegmentDone,
    SegmentPlan,
    cut,
    encode_segments,
    joined_clip,
    segment_frames_for,
)
from nvcodec.errors import SettingsError
from nvcodec.io.atomic import check_output, check_video_output, write_file, write_frames
from nvcodec.io.cfv_file import CfvInput, open_cfv, probe
from nvcodec.io.video import MAX_CLIP_BYTES, is_stream, stack_frames
from nvcodec.model.canvas import parse_fps
from nvcodec.model.presets import DEFAULT_PRESET, preset_parameters
from nvcodec.runtime import precision_name, render_precision, resolve_device
from nvcodec.settings import (
    DEFAULT_LAMBDA,
    DEFAULT_OVERLAP_FRAMES,
    DEFAULT_REPRESENTATION,
    check_callback,
    check_encode_settings,
    check_positive,
    check_precision,
    check_representation,
    check_segment_settings,
    device_name,
    frame_range,
    frame_size,
    layers_for,
)
from nvcodec.summaries import DecodeSummary, EncodeSummary

DEFAULT_EPOCHS = 20.0

PathLike = str | os.PathLike


def encoder_version() -> str:
    import nvcodec

    return f"nvcodec {nvcodec.__version__}"


def encode(
    input: PathLike | np.ndarray,
    output: PathLike | None = None,
    *,
    fps: Fraction | float | str | None = None,
    preset: str | None = None,
    params: int | None = None,
    bpp: float | None = None,
    layers: int | None = None,
    model: str = DEFAULT_REPRESENTATION,
    rate_lambda: float | None = None,
    epochs: float | None = None,
    minutes: float | None = None,
    frames: tuple[int | None, int | None] | None = None,
    size: tuple[int, int] | None = None,
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    seed: int = 0,
    segment_frames: int | None = None,
    overlap: int = DEFAULT_OVERLAP_FRAMES,
    jobs: int = 1,
    ray: str | None = None,
    work_dir: PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    on_progress: Callable[[FitProgress], None] | None = None,
    on_phase: Callable[[str, EncodeJob], None] | None = None,
    on_segment: SegmentDone | None = None,
) -> EncodeSummary:
    """Fit a CoordFlow to a video and store it as .cfv.

    `input` is a path or URL FFmpeg can read (`-` is stdin) or a T x H x W x 3 uint8 array (at
    `fps`, default 25; for a file, `fps` overrides its rate). Raw YUV (`.yuv`, or any input
    with `input_res` = (width, height) or `pix_fmt`) takes what these leave out from its name
    (`nvcodec.io.raw.raw_format`). The model size comes from one of `preset` (xs, s, m, l;
    s when none is given), `params` or `bpp` (within 10%: the size is predicted, and refitted
    once if the file misses). `model` is the representation: "grid" (latent grids, whose rate
    `rate_lambda` sets: larger, smaller files; `DEFAULT_LAMBDA` when not given) or "mlp"
    (Fourier features; no `rate_lambda`). `frames` = (start, stop) and
    `size` = (width, height) select and resize the input. Effort is `epochs` and/or `minutes`
    of wall time for each fit, rate control and measurement included (20 epochs when neither
    is given). `precision` is that of the colour nets' products while fitting: auto, float32
    or bfloat16 (`nvcodec.runtime.resolve_precision`); `batch_size` is the pixels per fitting
    step (`nvcodec.encoder.fit.default_batch_size` when not given). `on_progress` receives the
    fit's progress, `on_phase` each phase's name and the job's estimate
    (`nvcodec.encoder.pipeline.EncodeJob`). Without `output` the file is only returned, in
    `summary.data`; `-` is stdout.

    A long clip is cut into segments of `segment_frames` frames (by default, clips over
    `ONE_SEGMENT_SECONDS` into segments of `DEFAULT_SEGMENT_SECONDS`), each a model of its own
    with its share of the size and time budget and `overlap` frames of each neighbour (which the
    decoder cross-fades), read from the input as it is needed and fitted
    `jobs` at a time in worker processes, or as tasks on the Ray cluster at `ray` ("auto", an
    address, or "local" for a Ray instance of this machine's own). Finished segments are kept
    in `work_dir` (by default beside the output, `OUTPUT.parts`) until the file is written;
    `resume` takes up the segments an interrupted run of the same encode left there.
    `on_segment` is called as each segment is ready (`on_progress` and `on_phase` only for a
    one-segment encode in this process).
    """
    started = time.perf_counter()
    check_representation(model, rate_lambda)
    layers = layers_for(model, layers)
    check_encode_settings(preset, params, bpp, layers, batch_size, epochs, minutes, precision, seed)
    device, frames, size = device_name(device), frame_range(frames), frame_size(size)
    check_callback("on_progress", on_progress)
    check_callback("on_phase", on_phase)
    check_callback("on_segment", on_segment)
    check_segment_settings(segment_frames, overlap, jobs, ray, resume)
    if params is None and bpp is None:
        params = preset_parameters(preset)
        preset = preset or DEFAULT_PRESET
    if output is not None:
        output = _output_path(output, "the file's bytes are in summary.data")
        check_output(output, overwrite, source=input)
    clip_fps, total, clip_frames = input_frames(input, fps, frames, size, input_res, pix_fmt)
    length = segment_frames_for(total, clip_fps, segment_frames)
    fit_config = FitConfig(
        epochs=epochs if epochs is not None or minutes is not None else DEFAULT_EPOCHS,
        # The pipeline shortens this to what leaves room for rate control and measurement.
        seconds=None if minutes is None else 60.0 * minutes,
        batch_size=batch_size,
        seed=seed,
        device=device,
        precision=precision,
        rate_lambda=DEFAULT_LAMBDA if rate_lambda is None else rate_lambda,
    )
    settings = {
        "preset": preset,
        "params": None if preset else params,
        "bpp": bpp,
        "layers": layers,
        "model": model,
        "rate_lambda": rate_lambda,
        "epochs": epochs,
        "minutes": minutes,
        "frames": list(frames) if frames is not None else None,
        "size": list(size) if size is not None else None,
        "seed": seed,
        "precision": precision,
        "batch_size": batch_size,
        **({"segment_frames": length, "overlap": overlap} if length is not None else {}),
    }
    metadata = {"encoder": encoder_version(), "settings": settings}
    budget_seconds = None if minutes is None else 60.0 * minutes
    if length is not None or jobs > 1 or ray is not None:
        plan = SegmentPlan(
            length or total or 1,
            total,
            params,
            bpp,
            layers,
            model,
            fit_config,
            budget_seconds,
            jobs,
        )
        if work_dir is None and output is not None and not is_stream(output):
            work_dir = default_work_dir(output)
        job = {"input": _input_name(input, total), "settings": settings, "fps": str(clip_fps)}
        parts_dir = None if work_dir is None else WorkDir(work_dir, job, resume, overwrite)
        try:
            parts = encode_segments(
                cut(clip_frames, plan.segment_frames, overlap),
                clip_fps,
                plan,
                work_dir=parts_dir,
                ray_address=ray,
                on_segment=on_segment,
            )
        except BaseException:
            if parts_dir is not None and not parts_dir.finished():
                parts_dir.remove()  # nothing to resume
            raise
        encoded = joined_clip(parts, metadata)
        if output is not None:
            write_file(output, encoded.data, overwrite)
        if parts_dir is not None:
            parts_dir.remove()
        return _summary(encoded, output, started)
    frames_u8 = stack_frames(clip_frames, str(input) if total is None else f"{total} frames")
    encoded = encode_clip(
        frames_u8,
        clip_fps,
        fit_config,
        params=params,
        bpp=bpp,
        layers=layers,
        representation=model,
        metadata=metadata,
        budget_seconds=budget_seconds,
        on_progress=on_progress,
        on_phase=on_phase,
    )
    if output is not None:
        write_file(output, encoded.data, overwrite)
    return _summary(encoded, output, started)


def _summary(encoded: EncodedClip, output: PathLike | None, started: float) -> EncodeSummary:
    return EncodeSummary(
        **{f.name: getattr(encoded, f.name) for f in fields(EncodedClip)},
        output=None if output is None else str(output),
        seconds=time.perf_counter() - started,
    )


def _input_name(input: PathLike | np.ndarray, total: int | None) -> str:
    """What a work directory records of the input, so that --resume refuses another one."""
    if isinstance(input, str | os.PathLike):
        path = os.path.abspath(input) if str(input) != "-" else "-"
        size = os.path.getsize(path) if os.path.isfile(path) else None
        return f"{path} ({size} bytes)"
    return f"frames ({total})"


def decode(
    input: CfvInput,
    output: PathLike | None = None,
    *,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    fps: Fraction | float | str | None = None,
    frames: tuple[int | None, int | None] | None = None,
    lossless: bool = False,
    format: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    overwrite: bool = False,
    view: View | None = None,
    on_progress: Callable[[DecodeProgress], None] | None = None,
) -> DecodeSummary:
    """Render a .cfv file (a path, `-` for stdin, or its bytes) at any size, frame rate and
    frame range.

    `scale` or `size` = (width, height) set the resolution (native by default); `fps` the
    frame rate over the clip's duration; `frames` = (start, stop) picks output frames, and only
    those are rendered. `view` picks what is shown (`nvcodec.decoder.views.View`: alpha maps,
    one layer, stabilized, canonical; the plain frames by default). `format` (mp4, mkv, y4m,
    png) or else the output's suffix picks the format (.mp4, .mkv, .y4m, or a PNG pattern such
    as `frames/%05d.png`); `output` may be `-` (stdout, y4m by default), a pipe or a device;
    without it the frames are returned in `summary.frames_u8`. `precision` (auto, float32,
    bfloat16) is that of the colour nets' products: auto renders in float32 on a CPU, whose
    frames meet the format's conformance bound, and in bfloat16 on CUDA.
    """
    started = time.perf_counter()
    check_positive("scale", scale)
    check_precision(precision)
    device, frames, size = device_name(device), frame_range(frames), frame_size(size)
    check_callback("on_progress", on_progress)
    if view is not None and not isinstance(view, View):
        raise SettingsError(f"view must be a nvcodec.decoder.views.View, not {type(view).__name__}")
    if output is not None:
        output = _output_path(output, "the frames are in summary.frames_u8")
        check_video_output(output, overwrite, format, source=input)
    torch_device = resolve_device(device)
    dtype = render_precision(torch_device, precision)
    clip = ClipModels.open(open_cfv(input), torch_device, dtype)
    plan = plan_render(
        clip,
        view or View(),
        scale=scale,
        size=size,
        fps=None if fps is None else parse_fps(fps),
        frames=frames,
        on_progress=on_progress,
    )
    frames_u8 = None
    if output is None:
        if plan.count * plan.width * plan.height * 3 > MAX_CLIP_BYTES:
            raise SettingsError("the frames asked for are too large to return; give an output")
        frames_u8 = np.stack(list(plan.frames))
    else:
        write_frames(
            output,
            plan.frames,
            plan.first,
            plan.count,
            plan.fps,
            overwrite=overwrite,
            lossless=lossless,
            colour=clip.colour,
            format=format,
        )
    return DecodeSummary(
        output=None if output is None else str(output),
        width=plan.width,
        height=plan.height,
        frames=plan.count,
        first_frame=plan.first,
        fps=plan.fps,
        seconds=time.perf_counter() - started,
        device=str(torch_device),
        precision=precision_name(dtype),
        segments_decoded=len(clip.decoded),
        frames_u8=frames_u8,
    )


def _output_path(output: object, otherwise: str) -> PathLike:
    """The output as a path: a file object names no format nor a folder to rename into."""
    if not isinstance(output, str | os.PathLike):
        raise SettingsError(
            f"output must be a path (str or os.PathLike), not {type(output).__name__}; "
            f"without one {otherwise}"
        )
    return output


__all__ = [
    "DecodeProgress",
    "DecodeSummary",
    "EncodeSummary",
    "decode",
    "encode",
    "probe",
]
