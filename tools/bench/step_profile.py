"""Where a fitting step's time goes: the colour nets' products and activations, timed alone as
one forward and backward chain, against the whole step (the flow's path, the Fourier features,
the loss and the optimiser besides), each as a share of the matmul ceiling in its precision.
The chain's activations are also timed on their own, forward and backward, so that what is
left of the chain is its products. With --compile the chain also runs through torch.compile
(in that mode; a C++ compiler is needed), to see whether fusing it pays.

    python -m tools.bench.step_profile                  # every preset, both precisions
    python -m tools.bench.step_profile --preset xs      # one preset
    python -m tools.bench.step_profile --preset xs --compile max-autotune

Results go to tools/results/step_profile_cpu[_compiled_<mode>].json (schema
nvcodec-step-profile/1).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import click
import torch

from nvcodec.encoder.fit import ClipSampler, FitConfig, default_batch_size, train_step
from nvcodec.environment import describe_environment
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.flops import colour_macs_per_pixel, train_flops_per_sample
from nvcodec.model.presets import PRESETS, config_for_preset
from nvcodec.runtime import PRECISIONS, flushed_denormals, retain_freed_memory
from nvcodec.testing.synthetic import default_trajectory, pan_clip
from tools.bench.speed import FIT_CLIP
from tools.common import HELP_OPTIONS, RESULTS, matmul_ceiling

SCHEMA = "nvcodec-step-profile/1"


def mean_seconds(run: Callable[[], object], repeats: int) -> float:
    for _ in range(max(2, repeats // 10)):  # warm-up
        run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats


def profile(
    preset: str, precision: str, repeats: int, ceiling: float, compile_mode: str | None
) -> dict:
    width, height, frames = FIT_CLIP
    device = torch.device("cpu")
    clip = pan_clip(width, height, default_trajectory(frames, width, height))
    config = config_for_preset(preset, width, height, frames)
    sampler = ClipSampler(clip, Canvas(width, height, frames, Fraction(25)), device)
    model = CoordFlow(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    generator = torch.Generator().manual_seed(0)
    fit_config, dtype = FitConfig(precision=precision), PRECISIONS[precision]
    batch = default_batch_size(device, config)
    step = mean_seconds(
        lambda: train_step(model, optimiser, sampler, batch, generator, fit_config, dtype),
        repeats,
    )
    features = (torch.rand(config.num_layers, batch, config.colour_in) * 2 - 1).requires_grad_()

    def chain_sum(inputs: torch.Tensor) -> torch.Tensor:
        return model.colour(inputs, dtype=dtype).sum()

    def colour_chain(forward: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            model.zero_grad(set_to_none=True)
            features.grad = None
            forward(features).backward()

        return run

    chain = mean_seconds(colour_chain(chain_sum), repeats)
    compiled = {}
    if compile_mode is not None:
        started = time.perf_counter()
        run_compiled = colour_chain(torch.compile(chain_sum, mode=compile_mode))
        run_compiled()
        compiled = {
            "compile_mode": compile_mode,
            "compile_seconds": round(time.perf_counter() - started, 1),
            "compiled_chain_ms": round(1e3 * mean_seconds(run_compiled, repeats), 3),
        }
    hidden = torch.randn(config.num_layers, batch, config.colour_width, dtype=dtype)
    hidden.requires_grad_()
    upstream = torch.ones_like(hidden)

    def activations() -> None:
        for _ in range(config.colour_depth):
            torch.autograd.grad(model.colour.activation(hidden), hidden, upstream)

    activation = mean_seconds(activations, repeats)
    step_flops = train_flops_per_sample(config, batch, frames) * batch
    chain_flops = 6.0 * colour_macs_per_pixel(config, time_features=True) * batch
    return {
        "preset": preset,
        "precision": precision,
        "batch_size": batch,
        "step_ms": round(1e3 * step, 3),
        "colour_chain_ms": round(1e3 * chain, 3),
        "rest_ms": round(1e3 * (step - chain), 3),
        "activations_ms": round(1e3 * activation, 3),
        "step_fraction_of_ceiling": round(step_flops / step / ceiling, 4),
        "colour_chain_fraction_of_ceiling": round(chain_flops / chain / ceiling, 4),
        "products_fraction_of_ceiling": round(chain_flops / (chain - activation) / ceiling, 4),
        **compiled,
    }


@click.command(context_settings=HELP_OPTIONS)
@click.option("--preset", type=click.Choice(list(PRESETS)), multiple=True, help="[default: all]")
@click.option("--repeats", default=50, show_default=True, help="Timed steps per measurement.")
@click.option(
    "--compile",
    "compile_mode",
    type=click.Choice(["default", "max-autotune"]),
    help="Also time the chain through torch.compile in this mode.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="JSON path.")
def main(preset: tuple[str, ...], repeats: int, compile_mode: str | None, out: str | None) -> None:
    """Time fitting steps and the colour nets' chain alone, on the CPU."""
    device = torch.device("cpu")
    retain_freed_memory()
    ceilings = {name: matmul_ceiling(device, dtype, 2048, 5) for name, dtype in PRECISIONS.items()}
    rows = []
    with flushed_denormals(device):
        for name in preset or PRESETS:
            for precision, ceiling in ceilings.items():
                rows.append(profile(name, precision, repeats, ceiling, compile_mode))
                row = rows[-1]
                click.echo(
                    f"{name:2s} {precision:8s} batch {row['batch_size']}: step "
                    f"{row['step_ms']:8.2f} ms ({row['step_fraction_of_ceiling']:.0%} of ceiling), "
                    f"colour nets alone {row['colour_chain_ms']:8.2f} ms "
                    f"({row['colour_chain_fraction_of_ceiling']:.0%}; its activations "
                    f"{row['activations_ms']:.2f} ms, its products at "
                    f"{row['products_fraction_of_ceiling']:.0%}), the rest {row['rest_ms']:.2f} ms"
                )
                if compile_mode is not None:
                    click.echo(
                        f"   compiled ({compile_mode}, {row['compile_seconds']} s): chain "
                        f"{row['compiled_chain_ms']:.2f} ms"
                    )
    payload = {
        "schema": SCHEMA,
        "environment": describe_environment(device),
        "settings": {"fit_clip": FIT_CLIP, "repeats": repeats, "compile": compile_mode},
        "ceiling_gflops": {name: round(value / 1e9, 2) for name, value in ceilings.items()},
        "rows": rows,
    }
    suffix = "" if compile_mode is None else f"_compiled_{compile_mode.replace('-', '_')}"
    path = Path(out) if out else RESULTS / f"step_profile_cpu{suffix}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
