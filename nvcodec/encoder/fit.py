"""Fitting CoordFlow to one clip: weighted L1+L2 loss, layer loss, AdamW with cosine annealing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from nvcodec.encoder.loss_weights import pixel_weights
from nvcodec.errors import FitError
from nvcodec.metrics import psnr_from_mse
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, blend
from nvcodec.model.coordinates import frame_times, pixel_coordinates
from nvcodec.runtime import (
    flushed_denormals,
    precision_name,
    resolve_device,
    resolve_precision,
    retain_freed_memory,
)
from nvcodec.settings import CPU_BATCH_SIZE, CUDA_BATCH_SIZE, PRECISION_CHOICES, unknown_precision

LR = 2e-2  # peak learning rate up to LR_WIDTH (tools/results/fit_sweep_160x90x32.json)
LR_WIDTH = 144  # the xs preset's colour width, where LR was chosen


@dataclass(frozen=True)
class FitConfig:
    """How long and how to fit. Give `epochs`, `seconds`, or both (whichever ends first).

    An epoch is as many random pixel samples as the clip has pixels. The batch size follows the
    device when not given (`default_batch_size`); a high peak learning rate wins on budgets of
    minutes (tools/results/fit_sweep_160x90x32.json). The flow networks learn at
    `flow_lr_scale` times the rate: their few outputs move every pixel of a layer at once, and
    at the full rate one step can throw a layer's window off the frame. The learning rate
    follows a linear warm-up then a cosine to zero over the run's progress: steps for an epoch
    budget (bit-reproducible for a seed), fitting time for a wall-clock budget. The peak rate,
    when not given, follows the model's width (`default_lr`). `precision` is that of the
    colour nets' products (`nvcodec.precision.resolve_precision`).
    """

    epochs: float | None = 20.0
    seconds: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    warmup: float = 0.02
    weight_decay: float = 0.0
    l2_weight: float = 0.25
    layer_loss_weight: float = 0.1
    flow_lr_scale: float = 0.3
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    report_every: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs is None and self.seconds is None:
            raise FitError("give an epoch budget, a time budget, or both")
        if (self.epochs is not None and self.epochs <= 0) or (
            self.seconds is not None and self.seconds <= 0
        ):
            raise FitError("fitting budgets must be positive")
        if self.precision not in PRECISION_CHOICES:
            raise FitError(unknown_precision(self.precision))
        if (self.batch_size is not None and self.batch_size < 1) or (
            self.lr is not None and self.lr <= 0
        ):
            raise FitError("batch size and learning rate must be positive")


@dataclass(frozen=True)
class FitProgress:
    """What a progress callback receives: where the fit is and how well it does on its batches."""

    step: int
    epoch: float
    seconds: float
    loss: float
    psnr: float
    lr: float
    fraction_done: float
    model: CoordFlow = field(repr=False, compare=False)


@dataclass
class FitResult:
    model: CoordFlow
    canvas: Canvas
    steps: int
    epochs: float
    seconds: float
    device: str
    precision: str = "float32"
    history: list[FitProgress] = field(default_factory=list)
    recoveries: int = 0
    # The clip's pixels, targets and loss weights, kept for fine-tuning after the fit
    # (nvcodec.encoder.compensate); drop it when done, it holds the clip.
    sampler: ClipSampler | None = field(default=None, repr=False)


def default_lr(model_config: ModelConfig) -> float:
    """Peak learning rate: 2e-2 up to the xs preset's width, then inversely proportional to
    the width, as Adam's step on a hidden layer moves its outputs in proportion to the fan-in.

    At 2e-2 the s preset (width 600) blew up within a second on a synthetic pan and ended a
    25-s fit at 15.4 dB; at 5e-3 it reached 27.0 dB.
    """
    return LR * min(1.0, LR_WIDTH / model_config.colour_width)


def default_batch_size(device: torch.device) -> int:
    """Pixels per step when not given: CUDA_BATCH_SIZE on CUDA, CPU_BATCH_SIZE on the CPU.

    On the CPU, Bunny 160x90x32 with the xs preset (tools/results/precision_160x90x32.json):
    after 90 s of fitting 4096 beat 8192 and 16384 in both precisions (by 0.6 and 2.2 dB in
    bfloat16); after 300 s it still won in float32, while in bfloat16 8192 won by 0.6 dB. The
    same study's previous run (that file at commit 6b3df38) had 4096 ahead of 2048 by 2.2 dB
    in float32 and 2.8 dB in bfloat16 after 300 s.
    """
    return CUDA_BATCH_SIZE if device.type == "cuda" else CPU_BATCH_SIZE


class ClipSampler:
    """Random pixel batches over the whole clip, with coordinates, targets and loss weights.

    The clip stays uint8 and the weights float16 on the device; a batch gathers only what it
    needs, so memory does not grow with float copies of the video.
    """

    def __init__(self, frames_u8: np.ndarray, canvas: Canvas, device: torch.device) -> None:
        self.canvas = canvas
        self.pixels_per_frame = canvas.width * canvas.height
        self.num_pixels = self.pixels_per_frame * canvas.num_frames
        self.rgb = torch.as_tensor(frames_u8).reshape(-1, 3).to(device)
        self.weight = pixel_weights(frames_u8).reshape(-1).to(device)
        x, y = pixel_coordinates(canvas, canvas.width, canvas.height)
        self.x, self.y = x.to(device), y.to(device)
        self.times = frame_times(canvas, torch.arange(canvas.num_frames)).to(device)

    def batch(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(xy [N, 2], frame index [N], target rgb [N, 3] in [0, 1], weight [N])."""
        device = self.rgb.device
        index = torch.randint(self.num_pixels, (size,), generator=generator, device=device)
        frame = index // self.pixels_per_frame
        within = index - frame * self.pixels_per_frame
        row = within // self.canvas.width
        column = within - row * self.canvas.width
        xy = torch.stack((self.x[column], self.y[row]), dim=-1)
        return xy, frame, self.rgb[index].float() / 255.0, self.weight[index].float()


def combined_loss(
    rgb: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, l2_weight: float
) -> torch.Tensor:
    """Per-pixel w (|d|_1 + lambda |d|^2) over the channels (eq. 5), not yet averaged."""
    delta = rgb - target
    return weight * (delta.abs().sum(-1) + l2_weight * delta.square().sum(-1))


def coordflow_loss(
    raw: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, config: FitConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """L = L_combined + gamma L_layer (eqs. 5-6); also returns the blended RGB's squared error."""
    rgb, layer_rgb, alphas = blend(raw)
    loss = combined_loss(rgb, target, weight, config.l2_weight).mean()
    if config.layer_loss_weight and raw.shape[0] > 1:
        per_layer = combined_loss(layer_rgb, target, weight, config.l2_weight)
        loss = loss + config.layer_loss_weight * (alphas * per_layer).sum(0).mean()
    return loss, (rgb.detach().clamp(0, 1) - target).square().mean()


def fit(
    frames_u8: np.ndarray,
    model_config: ModelConfig,
    fit_config: FitConfig,
    fps: Fraction = Fraction(25),
    on_progress: Callable[[FitProgress], None] | None = None,
) -> FitResult:
    """Overfit a fresh CoordFlow to T x H x W x 3 uint8 frames."""
    device = resolve_device(fit_config.device)
    if device.type == "cpu":
        retain_freed_memory()
    with flushed_denormals(device):
        return _fit_on(device, frames_u8, model_config, fit_config, fps, on_progress)


def _fit_on(
    device: torch.device,
    frames_u8: np.ndarray,
    model_config: ModelConfig,
    fit_config: FitConfig,
    fps: Fraction,
    on_progress: Callable[[FitProgress], None] | None,
) -> FitResult:
    if frames_u8.ndim != 4 or frames_u8.shape[-1] != 3 or frames_u8.dtype != np.uint8:
        raise FitError(
            f"expected T x H x W x 3 uint8 frames, got {frames_u8.dtype} {frames_u8.shape}"
        )
    torch.manual_seed(fit_config.seed)
    generator = torch.Generator(device=device).manual_seed(fit_config.seed)
    canvas = Canvas(frames_u8.shape[2], frames_u8.shape[1], frames_u8.shape[0], Fraction(fps))
    sampler = ClipSampler(frames_u8, canvas, device)
    model = CoordFlow(model_config).to(device)
    # The fused step updates every tensor in one pass; the per-tensor loop costs a tenth of a
    # CPU step at these sizes.
    groups = [{"params": list(model.colour.parameters()), "lr_scale": 1.0}]
    if model.flow is not None:
        groups.append(
            {"params": list(model.flow.parameters()), "lr_scale": fit_config.flow_lr_scale}
        )
    peak_lr = fit_config.lr or default_lr(model_config)
    optimiser = torch.optim.AdamW(
        groups, lr=peak_lr, weight_decay=fit_config.weight_decay, fused=True
    )
    batch_size = fit_config.batch_size or default_batch_size(device)
    steps_per_epoch = sampler.num_pixels / batch_size
    total_steps = (
        math.ceil(fit_config.epochs * steps_per_epoch) if fit_config.epochs is not None else None
    )
    guard = DivergenceGuard(model, optimiser)
    dtype = resolve_precision(fit_config.precision, device)
    result = FitResult(
        model, canvas, 0, 0.0, 0.0, str(device), precision_name(dtype), sampler=sampler
    )
    clock = FitClock()
    window = RunningMetrics()
    last_report = 0.0
    step = 0
    while True:
        progress = _progress(step, total_steps, clock.seconds(), fit_config.seconds)
        if progress >= 1.0:
            break
        lr = peak_lr * _schedule(progress, fit_config.warmup) * guard.lr_factor
        for group in optimiser.param_groups:
            group["lr"] = lr * group["lr_scale"]
        loss, mse = train_step(model, optimiser, sampler, batch_size, generator, fit_config, dtype)
        step += 1
        window.add(loss.detach(), mse)
        if clock.seconds() - last_report >= fit_config.report_every or step == total_steps:
            loss_value, psnr = window.take()
            if guard.diverged(loss_value):
                guard.recover()
                continue
            guard.checkpoint(loss_value)
            last_report = clock.seconds()
            report = FitProgress(
                step, step / steps_per_epoch, last_report, loss_value, psnr, lr, progress, model
            )
            result.history.append(report)
            if on_progress is not None:
                with clock.paused():
                    on_progress(report)
    result.steps, result.epochs = step, step / steps_per_epoch
    result.seconds, result.recoveries = clock.seconds(), guard.recoveries
    model.eval()
    return result


def train_step(
    model: CoordFlow,
    optimiser: torch.optim.Optimizer,
    sampler: ClipSampler,
    batch_size: int,
    generator: torch.Generator,
    fit_config: FitConfig,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a random batch, the colour nets' products in `dtype`;
    returns the loss and the batch's squared error."""
    xy, frame, target, weight = sampler.batch(batch_size, generator)
    raw = model.layer_outputs(xy, frame, sampler.times, dtype)
    loss, mse = coordflow_loss(raw, target, weight, fit_config)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss, mse


def _progress(step: int, total_steps: int | None, seconds: float, budget: float | None) -> float:
    fractions = [0.0]
    if total_steps is not None:
        fractions.append(step / max(total_steps, 1))
    if budget is not None:
        fractions.append(seconds / budget)
    return max(fractions)


def _schedule(progress: float, warmup: float) -> float:
    """Linear warm-up over the first `warmup` of the run, then a cosine from 1 to 0."""
    if progress < warmup:
        return (progress + 1e-3) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


class FitClock:
    """Fitting time, excluding the time spent in progress callbacks."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.excluded = 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.start - self.excluded

    def paused(self) -> _Pause:
        return _Pause(self)


class _Pause:
    def __init__(self, clock: FitClock) -> None:
        self.clock = clock

    def __enter__(self) -> None:
        self.began = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self.clock.excluded += time.perf_counter() - self.began


class RunningMetrics:
    """Loss and MSE summed on the device between reports, so the hot loop never syncs."""

    def __init__(self) -> None:
        self.loss = self.mse = 0.0
        self.count = 0

    def add(self, loss: torch.Tensor, mse: torch.Tensor) -> None:
        self.loss = self.loss + loss
        self.mse = self.mse + mse
        self.count += 1

    def take(self) -> tuple[float, float]:
        loss, mse = float(self.loss) / self.count, float(self.mse) / self.count
        self.loss = self.mse = 0.0
        self.count = 0
        return loss, psnr_from_mse(mse)


class DivergenceGuard:
    """Keeps the last healthy weights; on a non-finite loss, or one that jumped `blowup` times
    above the last healthy report, restores them and halves the learning rate.

    A jump matters as much as a NaN: one bad step can throw a flow far off the frame, where
    the colour net gives no gradient to bring it back, and the fit stalls for good. Gives up
    with FitError after `limit` recoveries, so a fit never diverges silently.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimiser: torch.optim.Optimizer,
        limit: int = 3,
        blowup: float = 3.0,
    ) -> None:
        self.model, self.optimiser = model, optimiser
        self.limit, self.blowup = limit, blowup
        self.recoveries = 0
        self.lr_factor = 1.0
        self.checkpoint(math.inf)

    def diverged(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss > self.blowup * self.healthy_loss

    def checkpoint(self, loss: float) -> None:
        self.healthy_loss = loss
        self.saved = (
            {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            _clone_state(self.optimiser.state_dict()),
        )

    def recover(self) -> None:
        self.recoveries += 1
        if self.recoveries > self.limit:
            raise FitError(
                f"the loss diverged {self.recoveries} times, the last at 1/{2**self.limit} of "
                "the learning rate; try fewer parameters or another --seed"
            )
        self.model.load_state_dict(self.saved[0])
        self.optimiser.load_state_dict(_clone_state(self.saved[1]))
        self.lr_factor *= 0.5


def _clone_state(state: object) -> object:
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: _clone_state(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_clone_state(v) for v in state]
    return state
