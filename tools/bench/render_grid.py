"""Rendering speed of the grid model on this device: the model the RD bench fits (Bunny
320x180x132, default grids), rendered at 720p and 1080p.

    python -m tools.bench.render_grid
    python -m tools.bench.render_grid --batch 8192 --batch 32768   # chunk sizes, same run
    python -m tools.bench.render_grid --cfv out/bunny.cfv           # a fitted one-model file
    python -m tools.bench.render_grid --baseline    # and the plain renderer, same run
    python -m tools.bench.render_grid --layers 2 --width 16 --activation relu   # other shapes

The latents are random integers, the weights random, unless --cfv names a file: the number of
operations per pixel does not depend on them, but the values do matter a little (the GELU of a
strongly negative input is subnormal, which the renderer flushes to zero). Writes
tools/results/render_grid_<device>[_<file stem>].json (schema nvcodec-grid-render/1), with the
same columns as the speed bench's render rows (tools/bench/speed.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import torch

from nvcodec.bitstream.codec import decode_cfv
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ACTIVATION_NAMES
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.presets import grid_model_config
from nvcodec.runtime import precision_name, render_precision, resolve_device
from nvcodec.settings import DEFAULT_LAYERS
from tools.bench.speed import RENDER_SIZES, render_speed
from tools.common import HELP_OPTIONS, matmul_ceiling, save

SCHEMA = "nvcodec-grid-render/1"
CLIP = (320, 180, 132)


@click.command(context_settings=HELP_OPTIONS)
@click.option("--device", default="auto", show_default=True)
@click.option("--seconds", default=10.0, show_default=True, help="Rendering time per size.")
@click.option(
    "--batch",
    type=int,
    multiple=True,
    help="Pixels per rendering chunk, one run each, interleaved over two rounds.  "
    "[default: the renderer's]",
)
@click.option(
    "--cfv",
    "cfv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Render this one-model file's model instead of a random one.",
)
@click.option(
    "--layers",
    type=click.IntRange(1, 8),
    help="The random model's layers [default: the encoder's].",
)
@click.option(
    "--width",
    type=click.IntRange(1, 512),
    help="The random model's colour MLP width [default: 32].",
)
@click.option(
    "--activation",
    type=click.Choice(ACTIVATION_NAMES),
    help="The random model's activation [default: gelu].",
)
@click.option(
    "--baseline",
    is_flag=True,
    help="Also time the renderer without fused products, one frame at a time, interleaved.",
)
def main(
    device: str,
    seconds: float,
    batch: tuple[int, ...],
    cfv_path: Path | None,
    layers: int | None,
    width: int | None,
    activation: str | None,
    baseline: bool,
) -> None:
    """Measure the grid model's rendering throughput at 720p and 1080p."""
    dev = resolve_device(device)
    shape = {"colour_width": width, "activation": activation}
    shape = {key: value for key, value in shape.items() if value is not None}
    if cfv_path is not None and (shape or layers):
        raise click.UsageError("--layers, --width and --activation shape the random model only")
    stem = f"render_grid_{dev.type}"
    if cfv_path is None:
        torch.manual_seed(0)
        config = grid_model_config(*CLIP, layers or DEFAULT_LAYERS["grid"])
        config = dataclasses.replace(config, **shape)
        if layers or shape:
            stem += f"_random_{config.num_layers}x{config.colour_width}_{config.activation}"
        model = CoordFlow(config)
        with torch.no_grad():
            for tensor in model.grids.tensors():
                tensor.copy_(torch.randint(-8, 9, tensor.shape))
        canvas = Canvas(*CLIP, 25)
    else:
        decoded = decode_cfv(cfv_path.read_bytes())
        model, canvas = decoded.model, decoded.canvas
        stem += f"_{cfv_path.stem}"
    precision = render_precision(dev)
    ceiling = matmul_ceiling(dev, precision, 8192 if dev.type == "cuda" else 2048, 5)
    rows = []
    for _ in range(2 if batch or baseline else 1):
        for pixels in batch or (None,):
            for plain in (True, False) if baseline else (False,):
                rows += render_speed(
                    "grid", dev, seconds, ceiling, RENDER_SIZES, model, canvas, pixels, plain
                )
    for row in rows:
        click.echo(
            f"render grid {row['size']:>5s} in chunks of {row['batch_pixels']:6d}, "
            f"{row['renderer']}: {row['fps']:8.3f} fps"
        )
    save(
        stem,
        SCHEMA,
        {
            "settings": {
                "clip": "x".join(map(str, (canvas.width, canvas.height, canvas.num_frames))),
                "model": "random" if cfv_path is None else cfv_path.name,
                "seconds": seconds,
                "batches": list(batch) or "default",
                "baseline": baseline,
            },
            "model": {"params": count_parameters(model), "config": model.config.to_dict()},
            "ceiling_gflops": {precision_name(precision): round(ceiling / 1e9, 2)},
            "render": rows,
        },
    )


if __name__ == "__main__":
    main()
