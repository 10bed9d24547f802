"""The encoder: frames in, a measured .cfv file out.

Fit, choose a quantization step per linear map, quantize with compensation, measure the model
the decoder will rebuild, then write the file once, its measurements in its metadata. A `bpp`
target refits once when the first file misses it: an MLP model at the measured bits per
parameter, a grid model at the rate weight that the measured rate calls for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import torch

from nvcodec.bitstream.cfv import CfvInfo, parse_cfv, write_cfv
from nvcodec.bitstream.codec import build_model, stored_weights
from nvcodec.decoder.render import render
from nvcodec.encoder.compensate import compensation_steps, quantize_with_compensation
from nvcodec.encoder.estimate import EncodeEstimate, estimate_encode
from nvcodec.encoder.fit import FitConfig, FitProgress, clip_sampler, fit
from nvcodec.encoder.ratecontrol import (
    bpp_within_tolerance,
    choose_qmax,
    grid_db_per_bpp,
    params_for_bpp,
)
from nvcodec.encoder.sampler import PixelSample
from nvcodec.errors import SettingsError
from nvcodec.metrics import mean_squared_error, psnr_from_mse
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ModelConfig, parameter_count
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.presets import config_for_budget, grid_config_for_budget, grid_model_config
from nvcodec.runtime import resolve_device
from nvcodec.settings import DEFAULT_REPRESENTATION, check_representation

PHASES = ("fitting", "measuring the fit", "rate control", "compensation", "measuring the file")
"""The phases of one fit of an encode, in order."""
LAMBDA_PER_BPP_EXPONENT = 2.0
"""A grid model's rate falls about as lambda to the power -1/2: to scale the rate by r, the
refit multiplies lambda by r to the power -2 (tools/results/lambda_sweep_bunny_320x180.json)."""


@dataclass(frozen=True)
class EncodeJob:
    """What a fit of an encode is about to do: the model, the effort and the time it should
    take on this device (`estimate` comes from a short measurement before fitting)."""

    config: ModelConfig
    params: int
    epochs: float | None
    fit_seconds: float
    estimate: EncodeEstimate
    device: str
    spent_seconds: float = 0.0
    """What the encode took before fitting: the loss weights and the estimate."""

    @property
    def total_seconds(self) -> float:
        return self.spent_seconds + self.estimate.total_seconds(self.fit_seconds)


@dataclass(frozen=True)
class EncodedClip:
    """A written file and what the encoder measured on the way (PSNRs in dB of the model's
    render against the input frames)."""

    data: bytes
    info: CfvInfo
    psnr: float
    psnr_unquantized: float
    psnr_per_frame: list[float]
    qmax: tuple[int, ...]
    epochs: float
    fit_seconds: float
    device: str
    precision: str
    rate_lambda: float | None = None
    """The grid model's rate weight (None for an MLP model)."""
    warnings: list[str] = field(default_factory=list)


def encode_clip(
    frames_u8: np.ndarray,
    fps: Fraction,
    fit_config: FitConfig,
    *,
    params: int | None = None,
    bpp: float | None = None,
    layers: int = 2,
    representation: str = DEFAULT_REPRESENTATION,
    metadata: dict | None = None,
    budget_seconds: float | None = None,
    on_progress: Callable[[FitProgress], None] | None = None,
    on_phase: Callable[[str, EncodeJob], None] | None = None,
    start: CoordFlow | None = None,
) -> EncodedClip:
    """Encode T x H x W x 3 uint8 frames with a model of `params` parameters, or one whose file
    comes within 10% of `bpp` bits per pixel; `metadata` is stored with the measurements added.
    `representation` is "grid" (latent grids, the rate set by `fit_config.rate_lambda`) or
    "mlp" (Fourier features).

    `budget_seconds` bounds the wall time of each fit with everything around it (rate control
    and measurement, estimated before fitting); `fit_config`'s epochs bound it too. `on_phase`
    is called as each of PHASES begins; `start` is a model to warm-start each fit from (see
    `fit`)."""
    if (params is None) == (bpp is None):
        raise SettingsError("give the model size as a parameter count or as a bpp target")
    check_representation(representation, None)
    count, height, width = frames_u8.shape[:3]
    grid = representation == "grid"
    if bpp is None:
        budget = params
    else:  # a grid model keeps its size; its rate follows lambda
        densest = parameter_count(grid_model_config(width, height, count, layers))
        budget = densest if grid else params_for_bpp(bpp, width, height, count)
    attempt = (layers, grid, metadata, budget_seconds, on_progress, on_phase, start)
    encoded = _encode_at(frames_u8, fps, budget, fit_config, *attempt)
    if bpp is None or bpp_within_tolerance(encoded.info.bpp, bpp):
        return encoded
    # The bits a weight costs are only known after fitting: refit once at the measured rate.
    ratio = bpp / encoded.info.bpp
    if grid:
        rate_lambda = fit_config.rate_lambda * ratio**-LAMBDA_PER_BPP_EXPONENT
        fit_config = replace(fit_config, rate_lambda=rate_lambda)
    else:
        budget = max(1, round(budget * ratio))
    encoded = _encode_at(frames_u8, fps, budget, fit_config, *attempt)
    if not bpp_within_tolerance(encoded.info.bpp, bpp):
        encoded.warnings.append(
            f"the file has {encoded.info.bpp:.4g} bpp, outside 10% of the {bpp:g} asked for"
        )
    return encoded


def measure(model: CoordFlow, canvas: Canvas, frames_u8: np.ndarray) -> tuple[list[float], float]:
    """Per-frame PSNRs and the clip's PSNR (from the MSE over all frames) of a model's render."""
    times = torch.arange(canvas.num_frames, dtype=torch.float64)
    rendered = render(model, canvas, canvas.width, canvas.height, times)
    errors = [mean_squared_error(ref, out) for ref, out in zip(frames_u8, rendered, strict=True)]
    per_frame = [psnr_from_mse(error, 255.0) for error in errors]
    return per_frame, psnr_from_mse(float(np.mean(errors)), 255.0)


def model_config(
    budget: int, width: int, height: int, frames: int, layers: int, grid: bool = False
) -> ModelConfig:
    """The model for a parameter budget; SettingsError when no model of that size exists."""
    try:
        choose = grid_config_for_budget if grid else config_for_budget
        config = choose(budget, width, height, frames, num_layers=layers)
    except ValueError:  # a budget below the flow networks' own size
        config = None
    if config is None or parameter_count(config) > budget:
        raise SettingsError(f"{budget} parameters are too few for a {layers}-layer model")
    return config


def _encode_at(
    frames_u8: np.ndarray,
    fps: Fraction,
    budget: int,
    fit_config: FitConfig,
    layers: int,
    grid: bool,
    metadata: dict | None,
    budget_seconds: float | None,
    on_progress: Callable[[FitProgress], None] | None,
    on_phase: Callable[[str, EncodeJob], None] | None,
    start: CoordFlow | None,
) -> EncodedClip:
    began = time.perf_counter()
    count, height, width = frames_u8.shape[:3]
    config = model_config(budget, width, height, count, layers, grid)
    sampler = clip_sampler(frames_u8, fps, resolve_device(fit_config.device))
    estimate = estimate_encode(sampler, frames_u8, config, fit_config)
    spent = time.perf_counter() - began
    if budget_seconds is not None:  # the sampler's loss weights and the estimate count too
        fit_config = replace(fit_config, seconds=estimate.fit_seconds_within(budget_seconds, spent))
    job = EncodeJob(
        config,
        parameter_count(config),
        fit_config.epochs,
        _planned_fit_seconds(fit_config, estimate),
        estimate,
        str(sampler.rgb.device),
        spent,
    )
    phases = iter(PHASES)

    def begin() -> None:
        phase = next(phases)
        if on_phase is not None:
            on_phase(phase, job)

    begin()
    result = fit(sampler, config, fit_config, on_progress=on_progress, start=start)
    model, canvas = result.model, result.canvas
    begin()
    psnr_unquantized = measure(model, canvas, frames_u8)[1]
    begin()
    if grid:
        sample = PixelSample(canvas, frames_u8)
        exchange = grid_db_per_bpp(fit_config.rate_lambda, sample.absolute_error(model))
        choice = choose_qmax(model, canvas, frames_u8, exchange, per_pixel=True, sample=sample)
    else:
        choice = choose_qmax(model, canvas, frames_u8)
    begin()
    steps = compensation_steps(result.steps, model)
    quantize_with_compensation(model, sampler, choice.qmax, fit_config, steps)
    del sampler  # it holds the clip on the device
    begin()
    stored = stored_weights(model, choice.qmax)  # quantized once: measured, then written
    device = next(model.parameters()).device
    decoded = build_model(config, stored, device)
    per_frame, overall = measure(decoded, canvas, frames_u8)
    measured = {
        "psnr": _rounded(overall),
        "psnr_unquantized": _rounded(psnr_unquantized),
        "qmax": list(choice.qmax),
        **({"rate_lambda": fit_config.rate_lambda} if grid else {}),
        "epochs": round(result.epochs, 3),
        "fit_seconds": round(result.seconds, 3),
        "device": result.device,
        "precision": result.precision,
    }
    data = write_cfv(canvas, config, stored, {**(metadata or {}), **measured})
    return EncodedClip(
        data=data,
        info=parse_cfv(data).info,
        psnr=overall,
        psnr_unquantized=psnr_unquantized,
        psnr_per_frame=per_frame,
        qmax=choice.qmax,
        epochs=result.epochs,
        fit_seconds=result.seconds,
        device=result.device,
        precision=result.precision,
        rate_lambda=fit_config.rate_lambda if grid else None,
    )


def _planned_fit_seconds(fit_config: FitConfig, estimate: EncodeEstimate) -> float:
    """The fitting time a budget of epochs and/or seconds comes to on this device."""
    limits = [] if fit_config.seconds is None else [fit_config.seconds]
    if fit_config.epochs is not None:
        limits.append(fit_config.epochs * estimate.seconds_per_epoch)
    return min(limits)


def _rounded(value: float) -> float | None:
    """A PSNR for the file's metadata: 4 decimals are plenty, and JSON has no infinity."""
    return round(value, 4) if math.isfinite(value) else None
