"""Peak memory of the CPU path on a long, large clip: does a 1080p, 600-frame encode fit in RAM?

    python -m tools.bench.memory                      # 1920x1080, 600 frames
    python -m tools.bench.memory -s 640x360 -n 100    # a smaller check

It builds the clip in place as uint8 (a texture shifted a little each frame: only the size
matters here) and runs every stage of an encode on it with the encoder's own functions: the
sampler (loss weights of every pixel), a fit of the xs preset for a few seconds, the rate
control's pixel sample and trials, quantization with compensation, the file, and rendering at
full size (the encoder's two measuring renders stream frame by frame; a few frames stand for
them). Peak resident memory is read from the OS after each stage. Results go to
tools/results/memory_<device>.json (schema nvcodec-memory/1).
"""

from __future__ import annotations

import json
import resource
import time
from fractions import Fraction
from pathlib import Path

import click
import numpy as np
import torch

from nvcodec.bitstream.codec import encode_cfv
from nvcodec.cli import FrameSize
from nvcodec.decoder.render import render
from nvcodec.encoder.compensate import compensation_steps, quantize_with_compensation
from nvcodec.encoder.fit import FitConfig, clip_sampler, fit
from nvcodec.encoder.ratecontrol import choose_qmax
from nvcodec.environment import describe_environment
from nvcodec.model.presets import config_for_preset
from nvcodec.testing.synthetic import texture
from tools.common import HELP_OPTIONS, RESULTS

GIB = 2**30
SCHEMA = "nvcodec-memory/1"


def peak_rss_bytes() -> int:
    """This process's peak resident set so far (Linux reports it in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def moving_texture(width: int, height: int, count: int) -> np.ndarray:
    """count x height x width x 3 uint8 frames of one texture moving a little each frame."""
    base = (texture(height, width).permute(1, 2, 0) * 255.0 + 0.5).to(torch.uint8).numpy()
    clip = np.empty((count, height, width, 3), np.uint8)
    for index in range(count):
        clip[index] = np.roll(base, (index % height, (2 * index) % width), axis=(0, 1))
    return clip


@click.command(context_settings=HELP_OPTIONS)
@click.option("-s", "--size", type=FrameSize(), default="1920x1080", show_default=True)
@click.option("-n", "--frames", default=600, show_default=True)
@click.option("--seconds", default=10.0, show_default=True, help="Fitting time.")
@click.option("--render-frames", default=2, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="JSON path.")
def main(
    size: tuple[int, int], frames: int, seconds: float, render_frames: int, out: str | None
) -> None:
    """Measure peak memory while fitting and rendering a large clip on the CPU."""
    width, height = size
    stages = []

    def stage(name: str, started: float) -> None:
        stages.append(
            {
                "stage": name,
                "peak_rss_gib": round(peak_rss_bytes() / GIB, 2),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        click.echo(f"{name:>10s}: peak {stages[-1]['peak_rss_gib']:6.2f} GiB")

    started = time.perf_counter()
    clip = moving_texture(width, height, frames)
    stage("clip", started)
    config = config_for_preset("xs", width, height, frames)
    fit_config = FitConfig(epochs=None, seconds=seconds, device="cpu")
    started = time.perf_counter()
    sampler = clip_sampler(clip, Fraction(25), torch.device("cpu"))
    stage("sampler", started)
    started = time.perf_counter()
    result = fit(sampler, config, fit_config)
    stage("fit", started)
    started = time.perf_counter()
    choice = choose_qmax(result.model, result.canvas, clip)
    stage("rate control", started)
    started = time.perf_counter()
    steps = compensation_steps(result.steps, result.model)
    quantize_with_compensation(result.model, sampler, choice.qmax, fit_config, steps)
    del sampler
    data = encode_cfv(result.model, result.canvas, qmax=choice.qmax)
    stage("compensate and write", started)
    started = time.perf_counter()
    times = torch.arange(render_frames, dtype=torch.float64)
    for _ in render(result.model, result.canvas, width, height, times):
        pass
    stage("render", started)
    payload = {
        "schema": SCHEMA,
        "environment": describe_environment(torch.device("cpu")),
        "clip": {"width": width, "height": height, "frames": frames},
        "clip_gib": round(clip.nbytes / GIB, 2),
        "fit_seconds": seconds,
        "render_frames": render_frames,
        "file_bytes": len(data),
        "stages": stages,
    }
    path = Path(out) if out else RESULTS / "memory_cpu.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
