"""Fitting CoordFlow to one clip: weighted L1+L2 loss, layer loss, AdamW with cosine annealing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from nvcodec.encoder.latent_rate import LatentRate, noisy, round_latents, straight_through
from nvcodec.encoder.loss import coordflow_loss
from nvcodec.encoder.muon import StackedMuon
from nvcodec.encoder.sampler import ClipSampler
from nvcodec.errors import FitError
from nvcodec.metrics import psnr_from_mse
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig
from nvcodec.runtime import (
    flushed_denormals,
    precision_name,
    resolve_device,
    resolve_precision,
    retain_freed_memory,
    synchronize,
)
from nvcodec.settings import (
    CPU_BATCH_SIZE,
    CUDA_BATCH_SIZE,
    DEFAULT_LAMBDA,
    GRID_CPU_BATCH_SIZE,
    PRECISION_CHOICES,
    unknown_precision,
)

LR = 2e-2  # peak learning rate up to LR_WIDTH (tools/results/fit_sweep_160x90x32.json)
LR_WIDTH = 144  # the xs preset's colour width, where LR was chosen
OPTIMISERS = ("adamw", "muon")


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
    colour nets' products (`nvcodec.runtime.resolve_precision`). `optimiser` "muon" steps the
    nets' weight matrices by Muon (`nvcodec.encoder.muon`) and the rest by AdamW, "adamw" all by
    AdamW; None is Muon for a grid model, where it won the equal-time comparison
    (tools/results/grid_sweep_bunny_320x180x132.json), and AdamW for an MLP.

    A grid model's latents learn at `latent_lr_scale` times the rate, and the loss adds
    `rate_lambda` times their estimated bits per pixel (`nvcodec.encoder.latent_rate`): the
    larger `rate_lambda`, the smaller the file. They are read with rounding noise until
    `straight_through_from` of the run, then rounded (straight through), and rounded for good
    when the fit ends. The rate term enters one step in `rate_every`, at `rate_every` times its
    weight: the same pull on the latents in all, for a fraction of its elementwise work over
    every latent, a large share of a CPU step.
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
    latent_lr_scale: float = 10.0
    rate_lambda: float = DEFAULT_LAMBDA
    straight_through_from: float = 0.85
    rate_every: int = 4
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    optimiser: str | None = None
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
        if self.rate_lambda < 0:
            raise FitError("the rate's lambda must not be negative")
        if self.rate_every < 1:
            raise FitError("the rate term must enter at least one step in every rate_every")
        if self.optimiser is not None and self.optimiser not in OPTIMISERS:
            raise FitError(f"unknown optimiser {self.optimiser!r}; use {', '.join(OPTIMISERS)}")


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


def default_lr(model_config: ModelConfig) -> float:
    """Peak learning rate: LR up to the xs preset's width, then inversely proportional to the
    width, as Adam's step on a hidden layer moves its outputs in proportion to the fan-in (wider
    presets diverged at LR)."""
    return LR * min(1.0, LR_WIDTH / model_config.colour_width)


def default_batch_size(device: torch.device, model_config: ModelConfig) -> int:
    """Pixels per step when not given: CUDA_BATCH_SIZE on CUDA; on the CPU, CPU_BATCH_SIZE for
    an MLP model (`python -m tools.study precision`, tools/results/precision_160x90x32.json)
    and GRID_CPU_BATCH_SIZE for a grid model."""
    if device.type == "cuda":
        return CUDA_BATCH_SIZE
    return CPU_BATCH_SIZE if model_config.grid is None else GRID_CPU_BATCH_SIZE


def clip_sampler(frames_u8: np.ndarray, fps: Fraction, device: torch.device) -> ClipSampler:
    """The sampler of T x H x W x 3 uint8 frames at `fps`, on `device`."""
    if frames_u8.ndim != 4 or frames_u8.shape[-1] != 3 or frames_u8.dtype != np.uint8:
        raise FitError(
            f"expected T x H x W x 3 uint8 frames, got {frames_u8.dtype} {frames_u8.shape}"
        )
    canvas = Canvas(frames_u8.shape[2], frames_u8.shape[1], frames_u8.shape[0], Fraction(fps))
    return ClipSampler(frames_u8, canvas, device)


def fit(
    clip: np.ndarray | ClipSampler,
    model_config: ModelConfig,
    fit_config: FitConfig,
    fps: Fraction = Fraction(25),
    on_progress: Callable[[FitProgress], None] | None = None,
    start: CoordFlow | None = None,
) -> FitResult:
    """Overfit a CoordFlow to T x H x W x 3 uint8 frames at `fps`, or to the clip of a sampler
    built for it (which then fixes the device and the frame rate). The model starts fresh, or
    from `start`'s tensors wherever their names and shapes match (a warm start)."""
    if isinstance(clip, ClipSampler):
        sampler = clip
    else:
        sampler = clip_sampler(clip, fps, resolve_device(fit_config.device))
    device = sampler.rgb.device
    if device.type == "cpu":
        retain_freed_memory()
    with flushed_denormals(device):
        return _fit_on(sampler, model_config, fit_config, on_progress, start)


def _fit_on(
    sampler: ClipSampler,
    model_config: ModelConfig,
    fit_config: FitConfig,
    on_progress: Callable[[FitProgress], None] | None,
    start: CoordFlow | None,
) -> FitResult:
    device, canvas = sampler.rgb.device, sampler.canvas
    torch.manual_seed(fit_config.seed)
    generator = torch.Generator(device=device).manual_seed(fit_config.seed)
    model = CoordFlow(model_config).to(device)
    if start is not None:
        copy_matching(start, model)
    rate = None if model.grids is None else LatentRate(model.grids).to(device)
    peak_lr = fit_config.lr or default_lr(model_config)
    optimiser = make_optimiser(model, rate, fit_config, peak_lr)
    batch_size = fit_config.batch_size or default_batch_size(device, model_config)
    steps_per_epoch = sampler.num_pixels / batch_size
    total_steps = (
        math.ceil(fit_config.epochs * steps_per_epoch) if fit_config.epochs is not None else None
    )
    guard = DivergenceGuard(model, optimiser)
    dtype = resolve_precision(fit_config.precision, device)
    result = FitResult(model, canvas, 0, 0.0, 0.0, str(device), precision_name(dtype))
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
        if model.grids is not None:
            rounded = progress >= fit_config.straight_through_from
            model.grids.quantizer = straight_through if rounded else noisy
        loss, mse = train_step(
            model, optimiser, sampler, batch_size, generator, fit_config, dtype, rate, step
        )
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
    synchronize(device)  # the steps still queued on a GPU belong to the fit's time
    result.steps, result.epochs = step, step / steps_per_epoch
    result.seconds, result.recoveries = clock.seconds(), guard.recoveries
    if model.grids is not None:
        round_latents(model.grids)
    model.eval()
    return result


class Optimisers:
    """Optimisers of disjoint parameters, stepped, zeroed and saved as one."""

    def __init__(self, *optimisers: torch.optim.Optimizer) -> None:
        self.optimisers = optimisers

    @property
    def param_groups(self) -> list[dict]:
        return [group for optimiser in self.optimisers for group in optimiser.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimiser in self.optimisers:
            optimiser.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for optimiser in self.optimisers:
            optimiser.step()

    def state_dict(self) -> list[dict]:
        return [optimiser.state_dict() for optimiser in self.optimisers]

    def load_state_dict(self, states: list[dict]) -> None:
        for optimiser, state in zip(self.optimisers, states, strict=True):
            optimiser.load_state_dict(state)


def make_optimiser(
    model: CoordFlow, rate: LatentRate | None, fit_config: FitConfig, lr: float
) -> torch.optim.Optimizer | Optimisers:
    """AdamW over every tensor, or with Muon (`FitConfig.optimiser`), Muon over the nets' weight
    matrices and AdamW over the rest; each parameter group carries its `lr_scale`."""
    muon = fit_config.optimiser == "muon" or (
        fit_config.optimiser is None and model.grids is not None
    )
    nets = [(model.colour, 1.0)]
    if model.flow is not None:
        nets.append((model.flow, fit_config.flow_lr_scale))
    adamw_groups, muon_groups = [], []
    for net, scale in nets:
        if muon:
            muon_groups.append({"params": list(net.weights), "lr_scale": scale})
            adamw_groups.append({"params": list(net.biases), "lr_scale": scale})
        else:
            adamw_groups.append({"params": list(net.parameters()), "lr_scale": scale})
    if model.grids is not None and rate is not None:
        adamw_groups.append(
            {"params": list(model.grids.parameters()), "lr_scale": fit_config.latent_lr_scale}
        )
        adamw_groups.append({"params": list(rate.parameters()), "lr_scale": 1.0})
    # The fused step updates every tensor in one pass; the per-tensor loop costs a tenth of a
    # CPU step at these sizes.
    adamw = torch.optim.AdamW(adamw_groups, lr=lr, weight_decay=fit_config.weight_decay, fused=True)
    if not muon_groups:
        return adamw
    return Optimisers(adamw, StackedMuon(muon_groups, lr=lr, weight_decay=fit_config.weight_decay))


def copy_matching(source: torch.nn.Module, target: torch.nn.Module) -> int:
    """Copy `source`'s parameters into `target`'s of the same name and shape; returns how many
    were copied."""
    theirs = dict(source.named_parameters())
    copied = 0
    with torch.no_grad():
        for name, mine in target.named_parameters():
            value = theirs.get(name)
            if value is not None and value.shape == mine.shape:
                mine.copy_(value)
                copied += 1
    return copied


def train_step(
    model: CoordFlow,
    optimiser: torch.optim.Optimizer | Optimisers,
    sampler: ClipSampler,
    batch_size: int,
    generator: torch.Generator,
    fit_config: FitConfig,
    dtype: torch.dtype = torch.float32,
    rate: LatentRate | None = None,
    step: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimiser step number `step` on a random batch, the colour nets' products in `dtype`,
    the latents' estimated bits per pixel (`rate`) weighted into the loss on the steps that
    take it (`rate_weight_at`); returns the loss and the batch's squared error."""
    xy, frame, target, weight = sampler.batch(batch_size, generator)
    latents = None if model.grids is None else model.grids.read_all()
    raw = model.layer_outputs(xy, frame, sampler.times, dtype, latents)
    loss, mse = coordflow_loss(
        raw, target, weight, fit_config.l2_weight, fit_config.layer_loss_weight
    )
    rate_weight = rate_weight_at(step, fit_config.rate_every)
    if rate is not None and latents is not None and rate_weight > 0:
        bits_per_pixel = rate.bits(latents) / sampler.num_pixels
        loss = loss + rate_weight * fit_config.rate_lambda * bits_per_pixel
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss, mse


def rate_weight_at(step: int, rate_every: int) -> float:
    """The rate term's weight at `step`: `rate_every` on one step in `rate_every`, else 0."""
    return float(rate_every) if step % rate_every == 0 else 0.0


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

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time inside the block does not count as fitting time."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.excluded += time.perf_counter() - began


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
        optimiser: torch.optim.Optimizer | Optimisers,
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
