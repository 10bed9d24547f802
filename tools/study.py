"""Measurements of the CoordFlow core, written as JSON to tools/results/.

    python -m tools.study curve      # Bunny 160x90x32: PSNR vs fitting time, then 2x upsampling
    python -m tools.study ablation   # 2 layers vs 1 layer vs no flow, equal params and time
    python -m tools.study flow       # does the flow recover a known translation?
    python -m tools.study compensation   # quantization cost, plain and with compensation
    python -m tools.study precision  # float32 against bfloat16 products, by batch and budget
    python -m tools.study grid       # one grid-model fit of Bunny 320x180x132, added to a sweep
    python -m tools.study grid-ablation  # the grid model's fit, one piece changed at a time
    python -m tools.study grid-steps     # the weights' steps: a constant price or lambda's

Every command records the device, library versions and settings beside its numbers, under a
schema of its own (the constants below), by which tools/report.py renders it.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import click
import numpy as np
import torch

from nvcodec import api
from nvcodec.bitstream.codec import encode_cfv, quantized_model
from nvcodec.encoder.compensate import compensation_steps, quantize_with_compensation
from nvcodec.encoder.fit import OPTIMISERS, FitConfig, FitProgress, clip_sampler, fit
from nvcodec.encoder.ratecontrol import choose_qmax, grid_db_per_bpp
from nvcodec.encoder.sampler import PixelSample
from nvcodec.environment import describe_environment
from nvcodec.io.video import read_video
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import ACTIVATIONS, CoordFlow, ModelConfig, count_parameters
from nvcodec.model.presets import (
    GRID_COLOUR_DEPTH,
    GRID_FLOW_WIDTH,
    PRESETS,
    XYT_CHANNELS,
    XYT_SPATIAL_DIVISOR,
    XYT_TEMPORAL_DIVISOR,
    config_for_budget,
    grid_model_config,
)
from nvcodec.runtime import PRECISIONS, bfloat16_speedup, resolve_device
from nvcodec.settings import DEFAULT_LAYERS, PRECISION_CHOICES
from nvcodec.testing.synthetic import default_trajectory, pan_clip
from tools.common import HELP_OPTIONS, RESULTS, bunny_path, describe, render_all, save, upsample

CURVE_SCHEMA = "nvcodec-fit-curve/1"
SWEEP_SCHEMA = "nvcodec-fit-sweep/1"
PRECISION_SCHEMA = "nvcodec-precision/1"
ABLATION_SCHEMA = "nvcodec-ablation/1"
FLOW_SCHEMA = "nvcodec-flow-recovery/1"
COMPENSATION_SCHEMA = "nvcodec-compensation/1"
GRID_SCHEMA = "nvcodec-grid-sweep/1"
GRID_SWEEP = "grid_sweep_bunny_320x180x132"
GRID_ABLATION_SCHEMA = "nvcodec-grid-ablation/1"
GRID_ABLATION = "grid_ablation_bunny_320x180x132"
GRID_STEPS_SCHEMA = "nvcodec-grid-steps/1"
GRID_STEPS = "grid_steps_bunny_320x180x132"
FORMER_GRID_DB_PER_BPP = 40.0
"""The constant exchange rate the grid model's step search used before `grid_db_per_bpp`."""


def fit_and_score(
    clip: np.ndarray, config: ModelConfig, seconds: float, curve_every: float = 0.0, seed: int = 0
) -> tuple[CoordFlow, Canvas, list[dict]]:
    """Fit for `seconds` of fitting time; the clip's PSNR at the end and every `curve_every` s
    (rendering time is excluded from the fitting clock)."""
    count, height, width = clip.shape[:3]
    canvas = Canvas(width, height, count, Fraction(25))
    curve: list[dict] = []

    def point(model: CoordFlow, seconds_done: float, epochs: float) -> None:
        value = psnr(clip, render_all(model, canvas, width, height))
        curve.append(
            {"seconds": round(seconds_done, 1), "epochs": round(epochs, 2), "psnr": round(value, 3)}
        )
        click.echo(f"  {seconds_done:6.1f} s  epoch {epochs:6.1f}  {value:.2f} dB")

    def on_progress(progress: FitProgress) -> None:
        if curve_every and progress.seconds >= (len(curve) + 1) * curve_every:
            point(progress.model, progress.seconds, progress.epoch)

    fit_config = FitConfig(epochs=None, seconds=seconds, seed=seed)
    result = fit(clip, config, fit_config, on_progress=on_progress)
    point(result.model, result.seconds, result.epochs)
    return result.model, canvas, curve


@click.group(context_settings=HELP_OPTIONS)
def main() -> None:
    """CoordFlow core measurements."""


@main.command()
@click.option("--seconds", default=300.0, show_default=True, help="Fitting time budget.")
@click.option("--preset", default="xs", show_default=True, type=click.Choice(list(PRESETS)))
@click.option("--frames", default=32, show_default=True)
@click.option("--every", default=15.0, show_default=True, help="Seconds between curve points.")
def curve(seconds: float, preset: str, frames: int, every: float) -> None:
    """Bunny at 160x90: PSNR against fitting time, then rendering at 2x against the true
    320x180 frames, beside bilinear upsampling of the 160x90 source."""
    clip = read_video(bunny_path(), 0, frames, (160, 90)).frames_u8
    config = config_for_budget(PRESETS[preset], 160, 90, frames)
    model, canvas, points = fit_and_score(clip, config, seconds, every)
    truth_2x = read_video(bunny_path(), 0, frames, (320, 180)).frames_u8
    rendered_2x = render_all(model, canvas, 320, 180)
    upsampling = {
        "coordflow_2x": psnr(truth_2x, rendered_2x),
        "bilinear_2x": psnr(truth_2x, upsample(clip, 320, 180, "bilinear")),
        "nearest_2x": psnr(truth_2x, upsample(clip, 320, 180, "nearest")),
    }
    ours, theirs = upsampling["coordflow_2x"], upsampling["bilinear_2x"]
    click.echo(f"2x: CoordFlow {ours:.2f} dB, bilinear {theirs:.2f} dB")
    save(
        f"bunny_160x90x{frames}_{preset}_curve",
        CURVE_SCHEMA,
        {
            "clip": f"bigbuckbunny.mp4 frames 0:{frames} at 160x90 (area filter)",
            "model": describe(config),
            "fit": {"seconds": seconds},
            "curve": points,
            "final_psnr": points[-1]["psnr"],
            "upsampling_2x_vs_true_320x180": upsampling,
        },
    )


SWEEP = [
    # (label, batch size, peak lr, model overrides)
    ("paper lr", 8192, 5e-4, {}),
    ("batch 8192", 8192, 5e-3, {}),
    ("batch 4096", 4096, 1e-2, {}),
    ("batch 2048", 2048, 1e-2, {}),
    ("batch 2048, lr 2e-2", 2048, 2e-2, {}),
    ("batch 2048, lr 5e-2", 2048, 5e-2, {}),
    ("relu", 2048, 2e-2, {"activation": "relu"}),
    ("silu", 2048, 2e-2, {"activation": "silu"}),
    ("xy octaves 5", 2048, 2e-2, {"xy_octaves": 5}),
    ("xy octaves 7", 2048, 2e-2, {"xy_octaves": 7}),
]


@main.command()
@click.option("--seconds", default=60.0, show_default=True, help="Fitting time per run.")
@click.option("--frames", default=32, show_default=True)
def sweep(seconds: float, frames: int) -> None:
    """Batch size, learning rate, activation and octaves on Bunny 160x90, xs preset, equal
    fitting time: the evidence behind the defaults."""
    clip = read_video(bunny_path(), 0, frames, (160, 90)).frames_u8
    base = config_for_budget(PRESETS["xs"], 160, 90, frames)
    rows = []
    for label, batch, lr, overrides in SWEEP:
        config = ModelConfig(**{**base.to_dict(), **overrides})
        fit_config = FitConfig(epochs=None, seconds=seconds, batch_size=batch, lr=lr)
        result = fit(clip, config, fit_config)
        value = psnr(clip, render_all(result.model, result.canvas, 160, 90))
        rows.append(
            {
                "label": label,
                "batch_size": batch,
                "lr": lr,
                "overrides": overrides,
                "epochs": round(result.epochs, 2),
                "psnr": round(value, 3),
            }
        )
        click.echo(f"{label:24s} {result.epochs:6.1f} epochs  {value:.2f} dB")
    save(
        f"fit_sweep_160x90x{frames}",
        SWEEP_SCHEMA,
        {"model": describe(base), "fit": {"seconds": seconds}, "rows": rows},
    )


@main.command()
@click.option("--budgets", default="90,300", show_default=True, help="Fitting seconds per run.")
@click.option("--batches", default="4096,8192,16384", show_default=True)
@click.option("--frames", default=32, show_default=True)
def precision(budgets: str, batches: str, frames: int) -> None:
    """float32 against bfloat16 products on Bunny 160x90, xs preset, equal fitting time, at
    each batch size: the evidence behind `--precision auto` and the bfloat16 batch size. The
    largest rise of the training loss between two 10-s reports shows a fit that jumped."""
    clip = read_video(bunny_path(), 0, frames, (160, 90)).frames_u8
    config = config_for_budget(PRESETS["xs"], 160, 90, frames)
    rows = []
    for seconds in (float(b) for b in budgets.split(",")):
        for name in PRECISIONS:
            for batch in (int(b) for b in batches.split(",")):
                fit_config = FitConfig(
                    epochs=None, seconds=seconds, batch_size=batch, precision=name, report_every=10
                )
                result = fit(clip, config, fit_config)
                value = psnr(clip, render_all(result.model, result.canvas, 160, 90))
                losses = [report.loss for report in result.history]
                rise = max((b / a for a, b in zip(losses, losses[1:], strict=False)), default=1.0)
                rows.append(
                    {
                        "seconds": seconds,
                        "precision": name,
                        "batch_size": batch,
                        "epochs": round(result.epochs, 2),
                        "psnr": round(value, 3),
                        "largest_loss_rise": round(rise, 3),
                    }
                )
                click.echo(
                    f"{seconds:5.0f} s {name:8s} batch {batch:5d}: {result.epochs:6.1f} epochs "
                    f"{value:.2f} dB, loss rose at most {rise:.2f}x"
                )
    save(
        f"precision_160x90x{frames}",
        PRECISION_SCHEMA,
        {"model": describe(config), "bfloat16_speedup": bfloat16_speedup(), "rows": rows},
    )


def ablation_variants(params: int, width: int, height: int, frames: int) -> dict[str, ModelConfig]:
    """The paper's Table 5 at one parameter budget."""
    return {
        "2 layers": config_for_budget(params, width, height, frames, num_layers=2),
        "1 layer": config_for_budget(params, width, height, frames, num_layers=1),
        "1 layer, no flow": config_for_budget(
            params, width, height, frames, num_layers=1, use_flow=False
        ),
    }


@main.command()
@click.option("--seconds", default=120.0, show_default=True, help="Fitting time per run.")
@click.option("--params", default=PRESETS["xs"], show_default=True)
@click.option("--frames", default=32, show_default=True)
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds to repeat each fit with.")
def ablation(seconds: float, params: int, frames: int, seeds: str) -> None:
    """Table 5 of the paper on a synthetic pan and on Bunny, equal parameters and time.

    Every fit is repeated with each seed, so that differences can be told from noise.
    """
    width, height = 160, 90
    seed_list = [int(seed) for seed in seeds.split(",")]
    clips = {
        "synthetic pan": pan_clip(width, height, default_trajectory(frames, width, height), seed=0),
        "bunny": read_video(bunny_path(), 0, frames, (width, height)).frames_u8,
    }
    rows = []
    for clip_name, clip in clips.items():
        for variant, config in ablation_variants(params, width, height, frames).items():
            runs = []
            for seed in seed_list:
                click.echo(f"{clip_name} / {variant} / seed {seed}")
                _, _, points = fit_and_score(clip, config, seconds, seed=seed)
                last = points[-1]
                runs.append({"seed": seed, "psnr": last["psnr"], "epochs": last["epochs"]})
            values = np.array([run["psnr"] for run in runs])
            rows.append(
                {
                    "clip": clip_name,
                    "variant": variant,
                    "model": describe(config),
                    "psnr": round(float(values.mean()), 3),
                    "psnr_std": round(float(values.std(ddof=1)), 3) if len(runs) > 1 else 0.0,
                    "epochs": round(float(np.mean([run["epochs"] for run in runs])), 2),
                    "runs": runs,
                }
            )
            click.echo(f"  -> {rows[-1]['psnr']:.2f} +- {rows[-1]['psnr_std']:.2f} dB")
    save(
        f"ablation_{width}x{height}x{frames}",
        ABLATION_SCHEMA,
        {"fit": {"seconds": seconds, "seeds": seed_list}, "rows": rows},
    )


@main.command()
@click.option("--epochs", default=150.0, show_default=True)
@click.option("--frames", default=32, show_default=True)
def flow(epochs: float, frames: int) -> None:
    """Translate a texture along a known, non-linear trajectory; correlate the learned flow."""
    width, height = 96, 64
    trajectory = default_trajectory(frames, width, height)
    clip = pan_clip(width, height, trajectory, seed=2)
    config = config_for_budget(40_000, width, height, frames, num_layers=1)
    result = fit(clip, config, FitConfig(epochs=epochs, seed=0))
    times = torch.linspace(-1, 1 - 2 / frames, frames)
    with torch.no_grad():
        matrices = result.model.similarity(times)[0].numpy()
    # Content moving by u pixels appears at x' = x - u in canonical space, in model units
    # of 2 / max(W, H) per pixel.
    pixel = 2.0 / max(width, height)
    learned = matrices[:, :, 2] / pixel
    report = {}
    for axis, name in enumerate(("x", "y")):
        truth = -trajectory[:, axis]
        corr = float(np.corrcoef(learned[:, axis], truth)[0, 1])
        slope = float(np.polyfit(truth, learned[:, axis], 1)[0])
        report[name] = {"correlation": round(corr, 4), "slope": round(slope, 3)}
        click.echo(f"d{name}: correlation {corr:.4f}, slope {slope:.3f} (1.0 = exact pixels)")
    save(
        "flow_recovery",
        FLOW_SCHEMA,
        {
            "clip": f"synthetic texture {width}x{height}x{frames}, known sway+drift trajectory",
            "model": describe(config),
            "fit": {"epochs": epochs},
            "psnr": psnr(clip, render_all(result.model, result.canvas, width, height)),
            "recovery": report,
            "trajectory_px": trajectory.round(3).tolist(),
            "learned_px": learned.round(3).tolist(),
        },
    )


@main.command()
@click.option("--epochs", default=50.0, show_default=True)
@click.option("--frames", default=32, show_default=True)
@click.option("--steps-per-round", default=500, show_default=True)
@click.option("--qmax", "levels", default="127,63,45,31", show_default=True)
def compensation(epochs: float, frames: int, steps_per_round: int, levels: str) -> None:
    """Bunny 160x90, xs preset: PSNR and file size at one qmax for every linear map, quantized
    plainly and with compensation (nvcodec/encoder/compensate.py)."""
    clip = read_video(bunny_path(), 0, frames, (160, 90)).frames_u8
    config = config_for_budget(PRESETS["xs"], 160, 90, frames)
    fit_config = FitConfig(epochs=epochs, seed=0)
    sampler = clip_sampler(clip, Fraction(25), resolve_device(fit_config.device))
    fitted = fit(sampler, config, fit_config)
    unquantized = psnr(clip, render_all(fitted.model, fitted.canvas, 160, 90))
    click.echo(f"unquantized {unquantized:.2f} dB")
    rows = []
    for qmax in (int(level) for level in levels.split(",")):
        per_map = (qmax,) * len(fitted.model.linear_weights())
        plain = quantized_model(fitted.model, per_map)
        tuned = copy.deepcopy(fitted.model)
        quantize_with_compensation(tuned, sampler, per_map, fit_config, steps_per_round)
        compensated = quantized_model(tuned, per_map)
        row = {"qmax": qmax}
        for name, model in (("plain", plain), ("compensated", compensated)):
            size = len(encode_cfv(model, fitted.canvas, qmax=per_map))
            row[name] = {
                "psnr": round(psnr(clip, render_all(model, fitted.canvas, 160, 90)), 3),
                "bytes": size,
                "bits_per_parameter": round(8 * size / count_parameters(model), 3),
            }
        rows.append(row)
        click.echo(
            f"qmax {qmax:3d}: plain {row['plain']['psnr']:.2f} dB, compensated "
            f"{row['compensated']['psnr']:.2f} dB, {row['compensated']['bits_per_parameter']:.2f}"
            " bits per parameter"
        )
    save(
        f"compensation_160x90x{frames}",
        COMPENSATION_SCHEMA,
        {
            "clip": f"bigbuckbunny.mp4 frames 0:{frames} at 160x90 (area filter)",
            "model": describe(config),
            "fit": {"epochs": epochs, "steps_per_round": steps_per_round},
            "psnr_unquantized": round(unquantized, 3),
            "levels": rows,
        },
    )


@main.command()
@click.option("--lambda", "rate_lambda", default=0.1, show_default=True)
@click.option("--latent-lr", default=10.0, show_default=True, help="Latent learning rate scale.")
@click.option("--width", default=32, show_default=True, help="Colour MLP width.")
@click.option(
    "--depth", default=GRID_COLOUR_DEPTH, show_default=True, help="Colour MLP hidden maps."
)
@click.option(
    "--layers", default=DEFAULT_LAYERS["grid"], show_default=True, help="CoordFlow layers."
)
@click.option(
    "--levels", type=click.IntRange(min=1), help="2-D grid levels [default: the encoder's]."
)
@click.option(
    "--density",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Latents per frame pixel of the finest 2-D level (the other grids follow it).",
)
@click.option("--flow-width", default=GRID_FLOW_WIDTH, show_default=True, help="Flow MLP width.")
@click.option(
    "--xyt-channels", default=XYT_CHANNELS, show_default=True, help="Channels of the x-y-t grid."
)
@click.option(
    "--xyt-spatial-divisor",
    default=XYT_SPATIAL_DIVISOR,
    show_default=True,
    help="The x-y-t grid this many times coarser in x and y than the finest 2-D level.",
)
@click.option(
    "--xyt-temporal-divisor",
    default=XYT_TEMPORAL_DIVISOR,
    show_default=True,
    help="The x-y-t grid's frames: the clip's frames over this.",
)
@click.option("--batch", default=16384, show_default=True)
@click.option("--epochs", type=float, help="Epoch budget (the result is then load-independent).")
@click.option("--seconds", type=float, help="Fitting time budget (needs an idle machine).")
@click.option(
    "--precision",
    type=click.Choice(PRECISION_CHOICES),
    default="auto",
    show_default=True,
    help="The colour nets' products (auto: bfloat16 where the CPU runs it twice as fast).",
)
@click.option(
    "--optimiser",
    type=click.Choice(OPTIMISERS),
    default="muon",
    show_default=True,
    help="For the nets' weight matrices (the encoder's default for the grid model: muon).",
)
@click.option(
    "--rate-every",
    type=click.IntRange(min=1),
    default=FitConfig.rate_every,
    show_default=True,
    help="The rate term enters one step in this many, at this many times its weight.",
)
@click.option(
    "--activation",
    type=click.Choice(list(ACTIVATIONS)),
    default="gelu",
    show_default=True,
    help="The colour and flow nets' activation.",
)
@click.option(
    "--straight-through-from",
    type=click.FloatRange(0.0, 1.0),
    default=FitConfig.straight_through_from,
    show_default=True,
    help="Share of the fit after which the latents are read rounded (straight through).",
)
def grid(
    straight_through_from: float,
    activation: str,
    rate_lambda: float,
    latent_lr: float,
    width: int,
    depth: int,
    layers: int,
    levels: int | None,
    density: float,
    flow_width: int,
    xyt_channels: int,
    xyt_spatial_divisor: int,
    xyt_temporal_divisor: int,
    batch: int,
    epochs: float | None,
    seconds: float | None,
    precision: str,
    optimiser: str,
    rate_every: int,
) -> None:
    """Fit the grid model to Bunny 320x180x132, store it (qmax 127) and add the file's bpp and
    decoded PSNR to tools/results/grid_sweep_bunny_320x180x132.json."""
    clip = bunny_clip()
    count, clip_height, clip_width = clip.shape[:3]
    default = grid_model_config(
        clip_width,
        clip_height,
        count,
        layers,
        density,
        xyt_spatial_divisor=xyt_spatial_divisor,
        xyt_temporal_divisor=xyt_temporal_divisor,
    ).to_dict()
    grid = {**default["grid"], "xyt_channels": xyt_channels}
    if levels is not None:
        grid["levels"] = levels
    config = ModelConfig.from_dict(
        {
            **default,
            "colour_width": width,
            "colour_depth": depth,
            "flow_width": flow_width,
            "grid": grid,
            "activation": activation,
        }
    )
    fit_config = FitConfig(
        epochs=epochs,
        seconds=seconds,
        batch_size=batch,
        precision=precision,
        rate_lambda=rate_lambda,
        latent_lr_scale=latent_lr,
        optimiser=optimiser,
        rate_every=rate_every,
        straight_through_from=straight_through_from,
    )
    run = {
        "settings": {
            "rate_lambda": rate_lambda,
            "latent_lr_scale": latent_lr,
            "colour_width": width,
            "colour_depth": depth,
            "layers": layers,
            "levels": grid["levels"],
            "density": density,
            "flow_width": flow_width,
            "xyt_channels": xyt_channels,
            "xyt_spatial_divisor": xyt_spatial_divisor,
            "xyt_temporal_divisor": xyt_temporal_divisor,
            "activation": activation,
            "batch_size": batch,
            "epochs": epochs,
            "seconds": seconds,
            "optimiser": optimiser,
            "rate_every": rate_every,
            "straight_through_from": straight_through_from,
        },
        "environment": describe_environment(),
        **grid_fit_scored(clip, config, fit_config),
    }
    click.echo(json.dumps(run))
    path = RESULTS / f"{GRID_SWEEP}.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    save(GRID_SWEEP, GRID_SCHEMA, {"clip": "bunny 320x180x132", "runs": [*runs, run]})


def bunny_clip() -> np.ndarray:
    """Bunny 320x180x132, the rate-distortion bench's clip."""
    return read_video(bunny_path(), 0, 132, (320, 180)).frames_u8


def clip_grid_config(clip: np.ndarray) -> ModelConfig:
    """The default grid model of a T x H x W x 3 clip."""
    count, height, width = clip.shape[:3]
    return grid_model_config(width, height, count, DEFAULT_LAYERS["grid"])


def grid_fit_scored(clip: np.ndarray, config: ModelConfig, fit_config: FitConfig) -> dict:
    """Fit, store (qmax 127) and decode; the fit's effort and the file's size and PSNR."""
    count, height, width = clip.shape[:3]
    result = fit(clip, config, fit_config)
    data = encode_cfv(result.model, result.canvas)
    decoded = quantized_model(result.model)
    value = psnr(clip, render_all(decoded, result.canvas, width, height))
    return scored(clip, result.epochs, result.seconds, result.precision, len(data), value)


def scored(
    clip: np.ndarray, epochs: float, seconds: float, precision: str, size: int, value: float
) -> dict:
    """A fit's effort and its file's size and PSNR, as the grid studies record them."""
    return {
        "epochs": round(epochs, 2),
        "fit_seconds": round(seconds, 1),
        "precision": precision,
        "bytes": size,
        "bpp": round(8 * size / clip[..., 0].size, 4),
        "psnr": round(value, 3),
    }


GRID_ABLATION_VARIANTS = {
    "default fit": {},
    "no rate term (lambda 0)": {"rate_lambda": 0.0},
    "no straight-through tail": {"straight_through_from": 1.0},
    "AdamW for the nets' weights": {"optimiser": "adamw"},
    "seed 1": {"seed": 1},
    "seed 2": {"seed": 2},
}
"""What each piece of the grid model's rate-aware fit does, one change at a time; the seeds
show the spread a change must beat, and whether a best-of-seeds warm-up would pay."""


ENCODER_STORED = "stored by the encoder (step search, compensation)"
"""The first row's fit stored as `cfv encode` stores it: each weight map's step searched, then
the maps compensated, where the other rows keep qmax 127 so that only the fit differs."""
GRID_ABLATION_ROWS = (*GRID_ABLATION_VARIANTS, ENCODER_STORED)


@main.command(name="grid-ablation")
@click.option("--lambda", "rate_lambda", default=0.1, show_default=True)
@click.option("--epochs", default=8.0, show_default=True, help="Epochs per fit (seeded).")
@click.option(
    "--variant",
    type=click.Choice(GRID_ABLATION_ROWS),
    multiple=True,
    help="Rerun only these, keeping the others' rows.  [default: all]",
)
def grid_ablation(rate_lambda: float, epochs: float, variant: tuple[str, ...]) -> None:
    """Fit the grid model to Bunny 320x180x132 with one piece of the fit changed at a time, at
    equal epochs; tools/results/grid_ablation_bunny_320x180x132.json."""
    clip = bunny_clip()
    config = clip_grid_config(clip)
    settings = {"rate_lambda": rate_lambda, "epochs": epochs}
    path = RESULTS / f"{GRID_ABLATION}.json"
    earlier = json.loads(path.read_text()) if variant and path.exists() else None
    kept = {}
    if earlier is not None and earlier["settings"] == settings:
        kept = {row["variant"]: row for row in earlier["rows"]}
    for name in variant or GRID_ABLATION_ROWS:
        if name == ENCODER_STORED:
            row = {"variant": name, "change": {}, **encoder_scored(clip, rate_lambda, epochs)}
        else:
            change = GRID_ABLATION_VARIANTS[name]
            fit_config = FitConfig(**{"epochs": epochs, "rate_lambda": rate_lambda, **change})
            row = {"variant": name, "change": change, **grid_fit_scored(clip, config, fit_config)}
        click.echo(json.dumps(row))
        kept[name] = row
    save(
        GRID_ABLATION,
        GRID_ABLATION_SCHEMA,
        {
            "clip": "bunny 320x180x132",
            "settings": settings,
            "model": {"params": count_parameters(CoordFlow(config)), "config": config.to_dict()},
            "rows": [kept[name] for name in GRID_ABLATION_ROWS if name in kept],
        },
    )


def encoder_scored(clip: np.ndarray, rate_lambda: float, epochs: float) -> dict:
    """`grid_fit_scored`'s columns for the default fit encoded by `nvcodec.api.encode`."""
    summary = api.encode(clip, epochs=epochs, rate_lambda=rate_lambda, model="grid")
    return scored(
        clip,
        summary.epochs,
        summary.fit_seconds,
        summary.precision,
        len(summary.data),
        summary.psnr,
    )


@main.command(name="grid-steps")
@click.option("--lambdas", default="0.03,0.1,1", show_default=True, help="One fit each.")
@click.option("--epochs", default=8.0, show_default=True, help="Epochs per fit (seeded).")
def grid_steps(lambdas: str, epochs: float) -> None:
    """Fit the grid model to Bunny 320x180x132 at each lambda, then store each fit twice: its
    weights' steps searched at the former constant exchange rate and at the one its lambda
    sets, each compensated as the encoder does; tools/results/grid_steps_bunny_320x180x132.json."""
    clip = bunny_clip()
    config = clip_grid_config(clip)
    rows = []
    for rate_lambda in map(float, lambdas.split(",")):
        fit_config = FitConfig(epochs=epochs, rate_lambda=rate_lambda)
        result = fit(clip, config, fit_config)
        canvas = result.canvas
        sample = PixelSample(canvas, clip)
        prices = {
            "constant": FORMER_GRID_DB_PER_BPP,
            "from lambda": grid_db_per_bpp(rate_lambda, sample.absolute_error(result.model)),
        }
        sampler = clip_sampler(clip, canvas.fps, next(result.model.parameters()).device)
        for name, price in prices.items():
            model = copy.deepcopy(result.model)
            qmax = choose_qmax(model, canvas, clip, price, per_pixel=True, sample=sample).qmax
            steps = compensation_steps(result.steps, model)
            quantize_with_compensation(model, sampler, qmax, fit_config, steps)
            data = encode_cfv(model, canvas, qmax=qmax)
            decoded = quantized_model(model, qmax)
            value = psnr(clip, render_all(decoded, canvas, canvas.width, canvas.height))
            row = {
                "rate_lambda": rate_lambda,
                "price": name,
                "db_per_bpp": round(price, 2),
                "qmax": list(qmax),
                **scored(clip, result.epochs, result.seconds, result.precision, len(data), value),
            }
            click.echo(json.dumps(row))
            rows.append(row)
    save(
        GRID_STEPS,
        GRID_STEPS_SCHEMA,
        {
            "clip": "bunny 320x180x132",
            "settings": {"epochs": epochs, "absolute_error_sample": "PixelSample, seed 0"},
            "model": {"params": count_parameters(CoordFlow(config)), "config": config.to_dict()},
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
