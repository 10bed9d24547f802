"""The grid model's fitting step on the RD bench's clip (Bunny 320x180x132, default grids),
with the rate term on every step, one step in two and one in four (`FitConfig.rate_every`),
timed in turns in one process so that all see the same machine.

    python -m tools.bench.grid_step

Writes tools/results/grid_step_cpu.json (schema nvcodec-grid-step/1): the best mean step
time of each setting over the rounds, and every round's.
"""

from __future__ import annotations

import time
from fractions import Fraction

import click
import torch

from nvcodec.encoder.fit import FitConfig, clip_sampler, make_optimiser, train_step
from nvcodec.encoder.latent_rate import LatentRate, noisy
from nvcodec.model.coordflow import CoordFlow
from nvcodec.runtime import (
    flushed_denormals,
    precision_name,
    resolve_precision,
    retain_freed_memory,
)
from nvcodec.settings import GRID_CPU_BATCH_SIZE
from tools.common import HELP_OPTIONS, save
from tools.study import bunny_clip, clip_grid_config

SCHEMA = "nvcodec-grid-step/1"
SETTINGS = (1, 2, 4)


@click.command(context_settings=HELP_OPTIONS)
@click.option("--rounds", default=4, show_default=True, help="Turns of each setting.")
@click.option("--steps", default=16, show_default=True, help="Timed steps per turn.")
def main(rounds: int, steps: int) -> None:
    """Time the grid model's fitting step with the rate term every step, every second and
    every fourth."""
    device = torch.device("cpu")
    retain_freed_memory()
    clip = bunny_clip()
    config = clip_grid_config(clip)
    sampler = clip_sampler(clip, Fraction(25), device)
    generator = torch.Generator().manual_seed(0)
    runs = {}
    for every in SETTINGS:
        model = CoordFlow(config)
        rate = LatentRate(model.grids)
        fit_config = FitConfig(rate_every=every)
        model.grids.quantizer = noisy
        runs[every] = (model, rate, fit_config, make_optimiser(model, rate, fit_config, 1e-3))
    dtype = resolve_precision("auto", device)
    times: dict[int, list[float]] = {every: [] for every in SETTINGS}
    with flushed_denormals(device):
        for _ in range(rounds):
            for every, (model, rate, fit_config, optimiser) in runs.items():
                for k in range(-4, steps):  # four warm-up steps, then the timed ones
                    if k == 0:
                        started = time.perf_counter()
                    train_step(
                        model,
                        optimiser,
                        sampler,
                        GRID_CPU_BATCH_SIZE,
                        generator,
                        fit_config,
                        dtype,
                        rate,
                        k,
                    )
                times[every].append(round(1e3 * (time.perf_counter() - started) / steps, 2))
    rows = [
        {"rate_every": every, "step_ms": min(times[every]), "rounds_ms": times[every]}
        for every in SETTINGS
    ]
    for row in rows:
        click.echo(f"rate every {row['rate_every']}: {row['step_ms']:.1f} ms a step")
    payload = {"clip": "bunny 320x180x132", "precision": precision_name(dtype), "rows": rows}
    save("grid_step_cpu", SCHEMA, {**payload, "batch_size": GRID_CPU_BATCH_SIZE})


if __name__ == "__main__":
    main()
