"""Choosing the colour representation and the grid model's rate: `--model`, `--lambda`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, run

import nvcodec
from nvcodec.decoder.views import View
from nvcodec.errors import SettingsError

QUICK = {"epochs": 3, "batch_size": 256, "precision": "float32"}


@pytest.fixture(scope="module")
def grid_file(tiny_clip: np.ndarray) -> bytes:
    return nvcodec.encode(tiny_clip, epochs=1, batch_size=256, precision="float32").data


def test_larger_lambda_gives_a_smaller_file_of_lower_quality(tiny_clip: np.ndarray) -> None:
    sparing = nvcodec.encode(tiny_clip, rate_lambda=0.01, **QUICK)
    frugal = nvcodec.encode(tiny_clip, rate_lambda=30.0, **QUICK)
    assert frugal.info.chunk_bytes["LATC"] < sparing.info.chunk_bytes["LATC"]
    assert len(frugal.data) < len(sparing.data)
    assert frugal.psnr < sparing.psnr
    assert frugal.info.metadata["rate_lambda"] == 30.0
    assert frugal.info.metadata["settings"]["rate_lambda"] == 30.0


def test_the_mlp_representation_is_still_there(tiny_clip: np.ndarray) -> None:
    summary = nvcodec.encode(tiny_clip, model="mlp", params=8000, **QUICK)
    config = summary.info.config
    assert config.representation == "mlp" and config.grid is None
    assert "LATC" not in summary.info.chunk_bytes
    assert summary.info.metadata["settings"]["model"] == "mlp"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "mlp", "rate_lambda": 1.0}, "--model mlp has none"),
        ({"model": "voxels"}, "unknown model 'voxels'"),
        ({"rate_lambda": -1.0}, "lambda must be a positive number"),
    ],
)
def test_bad_representation_settings(tiny_clip: np.ndarray, options: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        nvcodec.encode(tiny_clip, **options)


def test_cli_encodes_a_grid_model_at_a_lambda(tiny_mp4: str, tmp_path: Path) -> None:
    output = tmp_path / "grid.cfv"
    code, stdout, stderr = run(
        "encode", tiny_mp4, output, "--model", "grid", "--lambda", "0.5", "--epochs", "2",
        "--batch-size", "256", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["rate_lambda"] == 0.5
    code, stdout, _ = run("info", output)
    assert code == 0 and "grid: " in stdout and "LATC" in stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--model", "mlp", "--lambda", "1"], "--model mlp has none"),
        (["--model", "voxels"], "--model"),
        (["--lambda", "0"], "--lambda"),
    ],
)
def test_cli_refuses_bad_representation_settings(
    tiny_mp4: str, tmp_path: Path, options: list[str], message: str
) -> None:
    code, _, stderr = run("encode", tiny_mp4, tmp_path / "a.cfv", *options)
    assert_one_line_error(code, stderr, 2, message)
    assert not (tmp_path / "a.cfv").exists()


@pytest.mark.parametrize(
    "view",
    [
        View(alpha_map=True),
        View(layer=1),
        View(drop_layer=0),
        View(stabilize=2.0),
        View(canonical=True),
    ],
)
def test_every_view_renders_a_grid_model(grid_file: bytes, view: View) -> None:
    frames = nvcodec.decode(grid_file, view=view).frames_u8
    width, height = view.raster(32, 24, nvcodec.probe(grid_file).config)
    assert frames.shape == (8, height, width, 3)


def test_the_canonical_window_of_a_grid_model_is_its_grids(grid_file: bytes) -> None:
    config = nvcodec.probe(grid_file).config
    assert View(canonical=True).zoom(config) == config.grid.window_scale == 1.5
    assert View(canonical=True, canonical_extent=3.0).zoom(config) == 3.0
    frames = nvcodec.decode(grid_file, view=View(canonical=True)).frames_u8
    assert frames.shape[1:3] == (36, 48)
