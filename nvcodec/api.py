"""encode(), decode() and probe(): what the `cfv` command and Python users call.

Inputs are paths or in-memory data (a uint8 array of frames, the bytes of a .cfv file), so a
notebook needs no subprocess. File outputs are written under a temporary name and renamed when
complete. Errors are :class:`nvcodec.errors.NvcodecError` subclasses with one-line messages.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from nvcodec.bitstream.cfv import MAX_FRAMES, MAX_LAYERS, probe_cfv, replace_metadata
from nvcodec.bitstream.codec import decode_cfv, encode_cfv
from nvcodec.decoder.render import render
from nvcodec.decoder.views import View
from nvcodec.encoder.compensate import SHARE_OF_FIT, compensation_steps, quantize_with_compensation
from nvcodec.encoder.fit import FitConfig, FitProgress, fit
from nvcodec.encoder.ratecontrol import bpp_within_tolerance, choose_qmax, params_for_bpp
from nvcodec.errors import SettingsError, VideoError
from nvcodec.io.atomic import atomic_output, atomic_pattern, check_output
from nvcodec.io.cfv_file import CfvInput, probe, read_cfv
from nvcodec.io.video import MAX_CLIP_BYTES, read_video, resize_frames, write_video
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import parameter_count
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.coordinates import resampled_frames
from nvcodec.model.presets import PRESETS, config_for_budget
from nvcodec.runtime import resolve_device
from nvcodec.settings import (
    PRECISION_CHOICES,
    check_positive,
    check_size,
    device_name,
    frame_range,
    frame_size,
    parse_fps,
    unknown_precision,
)

DEFAULT_PRESET = "s"
DEFAULT_EPOCHS = 20.0
DEFAULT_FPS = Fraction(25)

PathLike = str | os.PathLike


def encoder_version() -> str:
    import nvcodec

    return f"nvcodec {nvcodec.__version__}"


@dataclass(frozen=True)
class EncodeSummary:
    """What an encode produced; `psnr` is that of the decoded file against the input frames."""

    output: str | None
    width: int
    height: int
    frames: int
    fps: Fraction
    params: int
    bytes: int
    bpp: float
    bits_per_weight: float
    psnr: float
    psnr_unquantized: float
    psnr_per_frame: list[float]
    qmax: tuple[int, ...]
    epochs: float
    fit_seconds: float
    seconds: float
    device: str
    precision: str
    architecture: dict
    warnings: list[str] = field(default_factory=list)
    data: bytes = field(default=b"", repr=False)

    def to_dict(self) -> dict:
        """JSON-ready (the file's bytes left out; infinite PSNRs of exact fits as null)."""
        out = {k: v for k, v in asdict(self).items() if k != "data"}
        out["fps"] = f"{self.fps.numerator}/{self.fps.denominator}"
        for key in ("psnr", "psnr_unquantized"):
            out[key] = _finite_or_none(out[key])
        out["psnr_per_frame"] = [_finite_or_none(v) for v in self.psnr_per_frame]
        return out


@dataclass(frozen=True)
class DecodeProgress:
    """What a decode progress callback receives after each frame."""

    done: int
    total: int
    seconds: float


@dataclass(frozen=True)
class DecodeSummary:
    """What a decode rendered; `frames_u8` holds the frames when no output path was given."""

    output: str | None
    width: int
    height: int
    frames: int
    first_frame: int
    fps: Fraction
    seconds: float
    device: str
    frames_u8: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "frames_u8"}
        out["fps"] = f"{self.fps.numerator}/{self.fps.denominator}"
        return out


# --- encode ---


def encode(
    input: PathLike | np.ndarray,
    output: PathLike | None = None,
    *,
    fps: Fraction | float | str | None = None,
    preset: str | None = None,
    params: int | None = None,
    bpp: float | None = None,
    layers: int = 2,
    epochs: float | None = None,
    minutes: float | None = None,
    frames: tuple[int | None, int | None] | None = None,
    size: tuple[int, int] | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    on_progress: Callable[[FitProgress], None] | None = None,
) -> EncodeSummary:
    """Fit a CoordFlow to a video and store it as .cfv.

    `input` is a path FFmpeg can read or a T x H x W x 3 uint8 array (at `fps`, default 25; for
    a file, `fps` overrides its rate). The model size comes from one of `preset` (xs, s, m, l;
    s when none is given), `params` or `bpp` (within 10%: the size is predicted, and refitted
    once with the measured bits per weight if the file misses). `frames` = (start, stop) and
    `size` = (width, height) select and resize the input. Effort is `epochs` and/or `minutes`
    (20 epochs when neither is given). `precision` is that of the colour nets' products
    while fitting: auto, float32 or bfloat16 (`nvcodec.precision.resolve_precision`);
    `batch_size` is the pixels per fitting step (`nvcodec.fit.default_batch_size` when not
    given). Without `output` the file is only returned, in `summary.data`.
    """
    started = time.perf_counter()
    if sum(x is not None for x in (preset, params, bpp)) > 1:
        raise SettingsError("give only one of --model-size, --params and --bpp")
    for name, value in (("params", params), ("layers", layers), ("batch_size", batch_size)):
        check_positive(name, value, whole=True)
    for name, value in (("bpp", bpp), ("epochs", epochs), ("minutes", minutes)):
        check_positive(name, value)
    if layers > MAX_LAYERS:
        raise SettingsError(f"layers {layers}: a .cfv file holds at most {MAX_LAYERS}")
    if precision not in PRECISION_CHOICES:
        raise SettingsError(unknown_precision(precision))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SettingsError(f"seed must be a whole number, got {seed!r}")
    device, frames, size = device_name(device), frame_range(frames), frame_size(size)
    _check_callback(on_progress)
    if output is not None:
        check_output(_output_path(output, "the file's bytes are in summary.data"), overwrite)
    frames_u8, clip_fps = _input_frames(input, fps, frames, size)
    count, height, width = frames_u8.shape[:3]
    fit_config = FitConfig(
        epochs=epochs if epochs is not None or minutes is not None else DEFAULT_EPOCHS,
        # The budget covers the fit and the fine-tuning of quantization that follows it.
        seconds=None if minutes is None else 60.0 * minutes / (1.0 + SHARE_OF_FIT),
        batch_size=batch_size,
        seed=seed,
        device=device,
        precision=precision,
    )
    if bpp is not None:
        budget = params_for_bpp(bpp, width, height, count)
    else:
        budget = params if params is not None else PRESETS[_preset(preset)]
    warnings: list[str] = []
    encoded = _fit_and_store(frames_u8, clip_fps, budget, layers, fit_config, on_progress)
    if bpp is not None and not bpp_within_tolerance(encoded.bpp, bpp):
        # The bits a weight costs are only known after fitting: refit once at the measured rate.
        budget = max(1, round(budget * bpp / encoded.bpp))
        encoded = _fit_and_store(frames_u8, clip_fps, budget, layers, fit_config, on_progress)
        if not bpp_within_tolerance(encoded.bpp, bpp):
            warnings.append(
                f"the file has {encoded.bpp:.4g} bpp, outside 10% of the {bpp:g} asked for"
            )
    settings = {
        "preset": _preset(preset) if params is None and bpp is None else None,
        "params": params,
        "bpp": bpp,
        "layers": layers,
        "epochs": epochs,
        "minutes": minutes,
        "frames": list(frames) if frames is not None else None,
        "size": list(size) if size is not None else None,
        "seed": seed,
        "precision": precision,
        "batch_size": batch_size,
    }
    metadata = {
        "encoder": encoder_version(),
        "settings": settings,
        "psnr": _rounded(encoded.psnr),
        "psnr_unquantized": _rounded(encoded.psnr_unquantized),
        "qmax": list(encoded.qmax),
        "epochs": round(encoded.epochs, 3),
        "fit_seconds": round(encoded.fit_seconds, 3),
        "device": encoded.device,
        "precision": encoded.precision,
    }
    data = replace_metadata(encoded.data, metadata)
    if output is not None:
        with atomic_output(output, overwrite) as temporary:
            temporary.write_bytes(data)
    info = probe_cfv(data)
    return replace(
        encoded,
        output=None if output is None else str(output),
        bytes=len(data),
        bpp=info.bpp,
        bits_per_weight=info.bits_per_weight,
        seconds=time.perf_counter() - started,
        warnings=warnings,
        data=data,
    )


def _fit_and_store(
    frames_u8: np.ndarray,
    fps: Fraction,
    budget: int,
    layers: int,
    fit_config: FitConfig,
    on_progress: Callable[[FitProgress], None] | None,
) -> EncodeSummary:
    """Fit a model of about `budget` parameters, quantize it, and measure the decoded file.

    The summary's file has no metadata yet; `output`, `seconds` and `warnings` are left empty.
    """
    count, height, width = frames_u8.shape[:3]
    try:
        config = config_for_budget(budget, width, height, count, num_layers=layers)
    except ValueError:  # a budget below the flow networks' own size
        config = None
    if config is None or parameter_count(config) > budget:
        raise SettingsError(f"{budget} parameters are too few for a {layers}-layer model")
    result = fit(frames_u8, config, fit_config, fps, on_progress)
    psnr_unquantized = _measure(result.model, result.canvas, frames_u8)[1]
    choice = choose_qmax(result.model, result.canvas, frames_u8)
    steps = compensation_steps(result.steps, result.model)
    quantize_with_compensation(result, choice.qmax, fit_config, steps)
    result.sampler = None
    data = encode_cfv(result.model, result.canvas, qmax=choice.qmax)
    decoded = decode_cfv(data, device=next(result.model.parameters()).device)
    per_frame, overall = _measure(decoded.model, result.canvas, frames_u8)
    info = probe_cfv(data)
    canvas = info.canvas
    return EncodeSummary(
        output=None,
        width=canvas.width,
        height=canvas.height,
        frames=canvas.num_frames,
        fps=canvas.fps,
        params=info.params,
        bytes=len(data),
        bpp=info.bpp,
        bits_per_weight=info.bits_per_weight,
        psnr=overall,
        psnr_unquantized=psnr_unquantized,
        psnr_per_frame=per_frame,
        qmax=choice.qmax,
        epochs=result.epochs,
        fit_seconds=result.seconds,
        seconds=0.0,
        device=result.device,
        precision=result.precision,
        architecture=info.config.to_dict(),
        data=data,
    )


def _measure(model: CoordFlow, canvas: Canvas, frames_u8: np.ndarray) -> tuple[list[float], float]:
    """Per-frame PSNRs and the clip's PSNR (from the MSE over all frames) of a model's render."""
    times = torch.arange(canvas.num_frames, dtype=torch.float64)
    squared = 0.0
    per_frame = []
    for reference, rendered in zip(
        frames_u8, render(model, canvas, canvas.width, canvas.height, times), strict=True
    ):
        per_frame.append(psnr(reference, rendered))
        error = reference.astype(np.float64) - rendered
        squared += float(np.mean(error * error))
    mse = squared / canvas.num_frames
    return per_frame, 10.0 * math.log10(255.0**2 / mse) if mse > 0 else math.inf


def _input_frames(
    input: PathLike | np.ndarray,
    fps: Fraction | float | str | None,
    frames: tuple[int | None, int | None] | None,
    size: tuple[int, int] | None,
) -> tuple[np.ndarray, Fraction]:
    start, stop = frames if frames is not None else (None, None)
    if not isinstance(input, str | os.PathLike):
        clip = _as_frames(input)
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or not clip.size:
            raise VideoError(f"expected T x H x W x 3 uint8 frames, got {clip.dtype} {clip.shape}")
        clip = clip[_frame_slice(start, stop, len(clip))]
        if size is not None and size != (clip.shape[2], clip.shape[1]):
            clip = resize_frames(clip, size)
        clip_fps = DEFAULT_FPS
    else:
        video = read_video(input, start or 0, stop, size)
        clip, clip_fps = video.frames_u8, video.fps
    if fps is not None:
        clip_fps = parse_fps(fps)
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


def _frame_slice(start: int | None, stop: int | None, count: int) -> slice:
    """Frames [start, stop) of `count`, refusing ranges that select nothing."""
    first = 0 if start is None else start
    last = count if stop is None else stop
    if not 0 <= first < min(last, count) or last < 0:
        raise SettingsError(
            f"frame range {first}:{'' if stop is None else stop} selects no frames of 0:{count}"
        )
    return slice(first, min(last, count))


# --- decode ---


def decode(
    input: CfvInput,
    output: PathLike | None = None,
    *,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    fps: Fraction | float | str | None = None,
    frames: tuple[int | None, int | None] | None = None,
    lossless: bool = False,
    device: str = "auto",
    overwrite: bool = False,
    on_progress: Callable[[DecodeProgress], None] | None = None,
    alpha_map: bool = False,
    layer: int | None = None,
    drop_layer: int | None = None,
    stabilize: float | None = None,
    stabilize_layer: int | None = None,
    canonical: bool = False,
    canonical_extent: float | None = None,
) -> DecodeSummary:
    """Render a .cfv file (a path or its bytes) at any size, frame rate and frame range.

    `scale` or `size` = (width, height) set the resolution (native by default); `fps` the
    frame rate over the clip's duration; `frames` = (start, stop) picks output frames, and only
    those are rendered. The output's suffix picks the format (.mp4, .mkv, .y4m, or a PNG
    pattern such as `frames/%05d.png`); without `output` the frames are returned in
    `summary.frames_u8`. `alpha_map`, `layer`, `drop_layer`, `stabilize`, `stabilize_layer`,
    `canonical` and `canonical_extent` pick what is shown (`nvcodec.views.View`); with
    `canonical`, `size` is that of the whole window and `scale` keeps the frame's pixel density.
    """
    started = time.perf_counter()
    if scale is not None and size is not None:
        raise SettingsError("give --scale or --size, not both")
    check_positive("scale", scale)
    device, frames, size = device_name(device), frame_range(frames), frame_size(size)
    _check_callback(on_progress)
    if output is not None:
        output = _output_path(output, "the frames are in summary.frames_u8")
    view = View(
        alpha_map=alpha_map,
        layer=layer,
        drop_layer=drop_layer,
        stabilize=stabilize,
        stabilize_layer=stabilize_layer,
        canonical=canonical,
        canonical_extent=canonical_extent,
    )
    data = read_cfv(input)
    torch_device = resolve_device(device)
    decoded = decode_cfv(data, device=torch_device)
    canvas = decoded.canvas
    view.check(decoded.model.config)
    width, height = _output_size(canvas, scale, size)
    if size is None:
        width, height = view.raster(width, height)
    out_fps = canvas.fps if fps is None else parse_fps(fps)
    available = _frame_count(canvas, out_fps)
    if available > MAX_FRAMES:
        raise SettingsError(f"{out_fps} fps gives {available} frames, more than {MAX_FRAMES}")
    wanted = _frame_slice(*(frames or (None, None)), available)
    source_frames = resampled_frames(canvas, out_fps)[wanted]
    count = len(source_frames)
    if view.plain:
        frames_out = render(decoded.model, canvas, width, height, source_frames)
    else:
        frames_out = view.render(decoded.model, canvas, width, height, source_frames)
    rendered = _with_progress(frames_out, count, on_progress)
    frames_u8 = None
    if output is None:
        if count * width * height * 3 > MAX_CLIP_BYTES:
            raise SettingsError("the frames asked for are too large to return; give an output")
        frames_u8 = np.stack(list(rendered))
    else:
        _write_frames(str(output), rendered, wanted.start, count, out_fps, lossless, overwrite)
    return DecodeSummary(
        output=None if output is None else str(output),
        width=width,
        height=height,
        frames=count,
        first_frame=wanted.start,
        fps=out_fps,
        seconds=time.perf_counter() - started,
        device=str(torch_device),
        frames_u8=frames_u8,
    )


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


def _frame_count(canvas: Canvas, fps: Fraction) -> int:
    """How many frames `resampled_frames` gives at `fps` (computed without building them)."""
    return math.ceil(canvas.num_frames * fps / canvas.fps)


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


def _write_frames(
    output: str,
    frames: Iterator[np.ndarray],
    first: int,
    count: int,
    fps: Fraction,
    lossless: bool,
    overwrite: bool,
) -> None:
    """Write the frames; PNG files are numbered by their output frame number from `first`."""
    if "%" in Path(output).name:
        with atomic_pattern(output, first, count, overwrite) as temporary:
            write_video(temporary, frames, fps, lossless)
    else:
        with atomic_output(output, overwrite) as temporary:
            write_video(temporary, frames, fps, lossless)


# --- shared helpers ---


def _output_path(output: object, otherwise: str) -> PathLike:
    """The output as a path: a file object names no format or place to rename into."""
    if not isinstance(output, str | os.PathLike):
        raise SettingsError(
            f"output must be a path (str or os.PathLike), not {type(output).__name__}; "
            f"without one {otherwise}"
        )
    return output


def _check_callback(on_progress: object) -> None:
    if on_progress is not None and not callable(on_progress):
        raise SettingsError(f"on_progress must be a function, got {type(on_progress).__name__}")


def _preset(name: str | None) -> str:
    name = DEFAULT_PRESET if name is None else name
    if name not in PRESETS:
        raise SettingsError(f"unknown model size {name!r}; choose one of {', '.join(PRESETS)}")
    return name


def _rounded(value: float) -> float | None:
    """A PSNR for the file's metadata: 4 decimals are plenty, and JSON has no infinity."""
    return round(value, 4) if math.isfinite(value) else None


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


__all__ = [
    "DecodeProgress",
    "DecodeSummary",
    "EncodeSummary",
    "decode",
    "encode",
    "probe",
]
