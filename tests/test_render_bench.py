"""The rendering benches' options: the previous renderer as a baseline, shapes of random models."""

from __future__ import annotations

from fractions import Fraction

import torch
from click.testing import CliRunner

from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow
from nvcodec.model.presets import grid_model_config
from tools.bench import render_grid
from tools.bench.speed import render_speed


def test_baseline_rows_name_their_renderer() -> None:
    model = CoordFlow(grid_model_config(24, 16, 4, 2))
    canvas = Canvas(24, 16, 4, Fraction(25))
    rows = [
        row
        for baseline in (True, False)
        for row in render_speed(
            "grid", torch.device("cpu"), 0.01, 1e9, {"tiny": (24, 16)}, model, canvas, 64, baseline
        )
    ]
    assert [row["renderer"] for row in rows] == ["plain products, one frame at a time", "default"]
    assert all(row["frames"] >= 1 and row["batch_pixels"] == 64 for row in rows)


def test_shape_options_are_for_the_random_model_only(tmp_path) -> None:
    cfv = tmp_path / "clip.cfv"
    cfv.write_bytes(b"not read")
    result = CliRunner().invoke(render_grid.main, ["--cfv", str(cfv), "--layers", "2"])
    assert result.exit_code == 2 and "random model only" in result.output
