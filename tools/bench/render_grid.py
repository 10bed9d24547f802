"""Rendering speed of the grid model on this device: the model the RD bench fits (Bunny
320x180x132, default grids), rendered at 720p and 1080p.

    python -m tools.bench.render_grid
    python -m tools.bench.render_grid --batch 8192 --batch 32768   # chunk sizes, same run
    python -m tools.bench.render_grid --cfv out/bunny.cfv           # a fitted one-model file
    python -m tools.bench.render_grid --baseline    # and the plain renderer, same run
    python -m tools.bench.render_grid --precision float32 --precision bfloat16   # same run
    python -m tools.bench.render_grid --layers 2 --width 16 --activation relu   # other shapes
    python -m tools.bench.render_grid --depth 1 --levels 4   # fewer hidden maps, grid levels

The latents are random integers, the weights random, unless --cfv names a file: the number of
operations per pixel does not depend on them, but the values do matter a little (the GELU of a
strongly negative input is subnormal, which the renderer flushes to zero). Writes
tools/results/render_grid_<device>[_<file stem>].json (schema nvcodec-grid-render/1), with the
same columns as the speed bench's render rows (tools/bench/speed.py); with --cfv, the file's
frames at its own size in each precision are scored too (PSNR against the source where the
file is a fit of the bench's clip, and the decodes against the first precision's).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import click
import torch

from nvcodec.bitstream.codec import decode_cfv
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.config import ACTIVATION_NAMES
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.presets import grid_model_config
from nvcodec.runtime import precision_name, render_precision, resolve_device
from nvcodec.settings import DEFAULT_LAYERS
from tools.bench.speed import RENDER_SIZES, render_speed
from tools.common import HELP_OPTIONS, matmul_ceiling, render_all, save
from tools.device_check import decode_difference
from tools.study import bunny_clip

SCHEMA = "nvcodec-grid-render/1"
CLIP = (320, 180, 132)


def shape_option(name: str, kind: click.ParamType, what: str) -> Callable:
    """An option that shapes the random model (a --cfv file brings its own)."""
    return click.option(name, type=kind, help=f"The random model's {what}.")


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
@shape_option("--layers", click.IntRange(1, 8), "layers [default: the encoder's]")
@shape_option("--width", click.IntRange(1, 512), "colour MLP width [default: 32]")
@shape_option("--activation", click.Choice(ACTIVATION_NAMES), "activation [default: gelu]")
@shape_option("--depth", click.IntRange(1, 8), "hidden colour maps [default: the encoder's]")
@shape_option("--levels", click.IntRange(1, 16), "2-D grid levels [default: the encoder's]")
@click.option(
    "--precision",
    "precisions",
    type=click.Choice(["float32", "bfloat16"]),
    multiple=True,
    help="The products' precision, one run each, interleaved over two rounds.  "
    "[default: the renderer's]",
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
    depth: int | None,
    levels: int | None,
    precisions: tuple[str, ...],
    baseline: bool,
) -> None:
    """Measure the grid model's rendering throughput at 720p and 1080p."""
    dev = resolve_device(device)
    shape = {"colour_width": width, "activation": activation, "colour_depth": depth}
    shape = {key: value for key, value in shape.items() if value is not None}
    if cfv_path is not None and (shape or layers or levels):
        raise click.UsageError(
            "--layers, --width, --activation, --depth and --levels shape the random model only"
        )
    stem = f"render_grid_{dev.type}"
    if cfv_path is None:
        torch.manual_seed(0)
        config = grid_model_config(*CLIP, layers or DEFAULT_LAYERS["grid"])
        config = dataclasses.replace(config, **shape)
        if levels:
            config = dataclasses.replace(
                config, grid=dataclasses.replace(config.grid, levels=levels)
            )
        if layers or shape or levels:
            stem += f"_random_{config.num_layers}x{config.colour_width}_{config.activation}"
            stem += "".join(
                f"_{name}{value}" for name, value in (("depth", depth), ("levels", levels)) if value
            )
        model = CoordFlow(config)
        with torch.no_grad():
            for tensor in model.grids.tensors():
                tensor.copy_(torch.randint(-8, 9, tensor.shape))
        canvas = Canvas(*CLIP, 25)
    else:
        decoded = decode_cfv(cfv_path.read_bytes())
        model, canvas = decoded.model, decoded.canvas
        stem += f"_{cfv_path.stem}"
    dtypes = [render_precision(dev, name) for name in precisions or ("auto",)]
    ceilings = {
        dtype: matmul_ceiling(dev, dtype, 8192 if dev.type == "cuda" else 2048, 5)
        for dtype in dtypes
    }
    rows = []
    for _ in range(2 if batch or baseline or len(dtypes) > 1 else 1):
        for pixels in batch or (None,):
            for plain in (True, False) if baseline else (False,):
                for dtype in dtypes:
                    rows += render_speed(
                        "grid",
                        dev,
                        seconds,
                        ceilings[dtype],
                        RENDER_SIZES,
                        model,
                        canvas,
                        pixels,
                        plain,
                        dtype,
                    )
    for row in rows:
        click.echo(
            f"render grid {row['size']:>5s} in chunks of {row['batch_pixels']:6d}, "
            f"{row['renderer']}, {row['precision']}: {row['fps']:8.3f} fps"
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
                "precisions": list(precisions) or "default",
                "baseline": baseline,
            },
            "model": {"params": count_parameters(model), "config": model.config.to_dict()},
            "ceiling_gflops": {
                precision_name(dtype): round(flops / 1e9, 2) for dtype, flops in ceilings.items()
            },
            "render": rows,
            "quality": [] if cfv_path is None else precision_quality(model, canvas, dtypes),
        },
    )


def precision_quality(model: CoordFlow, canvas: Canvas, dtypes: list[torch.dtype]) -> list[dict]:
    """The file's frames at its own size in each precision: their PSNR against the source
    where the file is a fit of the bench's clip (Bunny 320x180x132), and how far each decode
    lies from the first precision's (`decode_difference`)."""
    size = (canvas.width, canvas.height)
    decodes = [render_all(model, canvas, *size, dtype) for dtype in dtypes]
    source = bunny_clip() if (*size, canvas.num_frames) == CLIP else None
    rows = []
    for index, (dtype, decoded) in enumerate(zip(dtypes, decodes, strict=True)):
        row: dict = {"precision": precision_name(dtype)}
        if source is not None:
            row["psnr_source"] = round(psnr(source, decoded), 4)
        if index:
            row["against_" + precision_name(dtypes[0])] = decode_difference(decodes[0], decoded)
        rows.append(row)
        click.echo(f"quality {json.dumps(row)}")
    return rows


if __name__ == "__main__":
    main()
