"""encode(), decode() and probe(): what the `cfv` command and Python users call.

Inputs are paths or in-memory data (a uint8 array of frames, the bytes of a .cfv file), so a
notebook needs no subprocess. File outputs are written under a temporary name and renamed when
complete. Errors are :class:`nvcodec.errors.NvcodecError` subclasses with one-line messages.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch

from nvcodec.bitstream.cfv import (
    MAX_FRAMES,
    CfvInfo,
    decode_cfv,
    encode_cfv,
    parameter_count,
    probe_cfv,
    replace_metadata,
)
from nvcodec.bitstream.container import MAX_CHUNK_LENGTH, SIGNATURE
from nvcodec.decoder.render import render
from nvcodec.decoder.views import View
from nvcodec.encoder.compensate import SHARE_OF_FIT, compensation_steps, quantize_with_compensation
from nvcodec.encoder.fit import FitConfig, FitProgress, fit
from nvcodec.encoder.ratecontrol import bpp_within_tolerance, choose_qmax, params_for_bpp
from nvcodec.errors import CfvError, FileError, SettingsError, VideoError
from nvcodec.io.atomic import check_output, check_video_output, write_file, write_frames
from nvcodec.io.raw import raw_format
from nvcodec.io.video import MAX_CLIP_BYTES, STDIO, check_size, read_video, resize_frames
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas, resampled_frames
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.presets import PRESETS, config_for_budget
from nvcodec.runtime import PRECISION_CHOICES, resolve_device, unknown_precision

DEFAULT_PRESET = "s"
DEFAULT_EPOCHS = 20.0
DEFAULT_FPS = Fraction(25)
MAX_FILE_BYTES = 2 * MAX_CHUNK_LENGTH
"""A .cfv file larger than this cannot hold a model within the format's bounds."""

PathLike = str | os.PathLike


def encoder_version() -> str:
    try:
        return f"nvcodec {version('nvcodec')}"
    except PackageNotFoundError:
        return "nvcodec"


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
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    on_progress: Callable[[FitProgress], None] | None = None,
) -> EncodeSummary:
    """Fit a CoordFlow to a video and store it as .cfv.

    `input` is a path or URL FFmpeg can read (`-` is stdin) or a T x H x W x 3 uint8 array (at
    `fps`, default 25; for a file, `fps` overrides its rate). Raw YUV (`.yuv`, or any input
    with `input_res` = (width, height) or `pix_fmt`) takes what these leave out from its name
    (`nvcodec.io.raw.raw_format`). The model size comes from one of `preset` (xs, s, m, l;
    s when none is given), `params` or `bpp` (within 10%: the size is predicted, and refitted
    once with the measured bits per weight if the file misses). `frames` = (start, stop) and
    `size` = (width, height) select and resize the input. Effort is `epochs` and/or `minutes`
    (20 epochs when neither is given). `precision` is that of the colour nets' products
    while fitting: auto, float32 or bfloat16 (`nvcodec.precision.resolve_precision`);
    `batch_size` is the pixels per fitting step (`nvcodec.fit.default_batch_size` when not
    given). Without `output` the file is only returned, in `summary.data`; `-` is stdout.
    """
    started = time.perf_counter()
    if sum(x is not None for x in (preset, params, bpp)) > 1:
        raise SettingsError("give only one of --preset, --params and --bpp")
    _check_positive(
        params=params, bpp=bpp, epochs=epochs, minutes=minutes, layers=layers, batch_size=batch_size
    )
    if precision not in PRECISION_CHOICES:
        raise SettingsError(unknown_precision(precision))
    if output is not None:
        check_output(output, overwrite, source=input)
    frames_u8, clip_fps = _input_frames(input, fps, frames, size, input_res, pix_fmt)
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
        write_file(output, data, overwrite)
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
    input_res: tuple[int, int] | None,
    pix_fmt: str | None,
) -> tuple[np.ndarray, Fraction]:
    start, stop = frames if frames is not None else (None, None)
    fps = None if fps is None else parse_fps(fps)
    if isinstance(input, np.ndarray):
        clip = input
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or not clip.size:
            raise VideoError(f"expected T x H x W x 3 uint8 frames, got {clip.dtype} {clip.shape}")
        clip = clip[_frame_slice(start, stop, len(clip))]
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


def _frame_slice(start: int | None, stop: int | None, count: int) -> slice:
    """Frames [start, stop) of `count`, refusing ranges that select nothing."""
    first = 0 if start is None else start
    last = count if stop is None else stop
    if not 0 <= first < min(last, count) or last < 0:
        raise VideoError(
            f"frame range {first}:{'' if stop is None else stop} selects no frames of 0:{count}"
        )
    return slice(first, min(last, count))


# --- decode ---


def decode(
    input: PathLike | bytes,
    output: PathLike | None = None,
    *,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    fps: Fraction | float | str | None = None,
    frames: tuple[int | None, int | None] | None = None,
    lossless: bool = False,
    format: str | None = None,
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
    """Render a .cfv file (a path, `-` for stdin, or its bytes) at any size, frame rate and
    frame range.

    `scale` or `size` = (width, height) set the resolution (native by default); `fps` the
    frame rate over the clip's duration; `frames` = (start, stop) picks output frames, and only
    those are rendered. `format` (mp4, mkv, y4m, png) or else the output's suffix picks the
    format (.mp4, .mkv, .y4m, or a PNG pattern such as `frames/%05d.png`); `output` may be `-`
    (stdout, y4m by default), a pipe or a device; without it the frames are returned in
    `summary.frames_u8`. `alpha_map`, `layer`, `drop_layer`, `stabilize`, `stabilize_layer`,
    `canonical` and `canonical_extent` pick what is shown (`nvcodec.views.View`); with
    `canonical`, `size` is that of the whole window and `scale` keeps the frame's pixel density.
    """
    started = time.perf_counter()
    if scale is not None and size is not None:
        raise SettingsError("give --scale or --size, not both")
    view = View(
        alpha_map=alpha_map,
        layer=layer,
        drop_layer=drop_layer,
        stabilize=stabilize,
        stabilize_layer=stabilize_layer,
        canonical=canonical,
        canonical_extent=canonical_extent,
    )
    if output is not None:
        check_video_output(output, overwrite, format, source=input)
    data = _read_cfv(input)
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
        write_frames(
            output,
            rendered,
            wanted.start,
            count,
            out_fps,
            overwrite=overwrite,
            lossless=lossless,
            colour=decoded.info.colour,
            format=format,
        )
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


# --- probe and shared helpers ---


def probe(input: PathLike | bytes) -> CfvInfo:
    """Describe a .cfv file (a path, `-` for stdin, or its bytes): header, architecture, sizes,
    metadata."""
    return probe_cfv(_read_cfv(input))


def _read_cfv(input: PathLike | bytes) -> bytes:
    if isinstance(input, bytes | bytearray | memoryview):
        return bytes(input)
    if str(input) == STDIO:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise CfvError("stdin: too large for a .cfv file")
        return data
    path = Path(input)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SIGNATURE))
            if head != SIGNATURE[: len(head)] or len(head) < len(SIGNATURE):
                probe_cfv(head)  # raises the signature's own error
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CfvError(f"{path}: too large for a .cfv file")
            return head + handle.read()
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot read ({exc.strerror})") from None


def parse_fps(fps: Fraction | float | str) -> Fraction:
    """A positive frame rate from a Fraction, a number, or text such as "30000/1001"."""
    try:
        # Through its shortest text a float such as 29.97 becomes 2997/100, not a binary fraction.
        value = Fraction(repr(fps) if isinstance(fps, float) else fps)
    except (ValueError, ZeroDivisionError, TypeError):
        raise SettingsError(
            f"frame rate {fps!r} is not a number or a ratio like 30000/1001"
        ) from None
    value = value.limit_denominator(2**32 - 1)
    if value <= 0 or value.numerator >= 2**32:
        raise SettingsError(f"frame rate {fps} must be positive and below 2^32")
    return value


def _preset(name: str | None) -> str:
    name = DEFAULT_PRESET if name is None else name
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return name


def _check_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not value > 0:
            raise SettingsError(f"{name} must be positive, got {value}")


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
