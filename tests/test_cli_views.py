"""`cfv decode` with a view: each view written to a file, and impossible views refused in one
line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run

from nvcodec.io.video import read_video


@pytest.mark.parametrize(
    ("options", "shape"),
    [
        (["--alpha-map"], (8, 24, 32, 3)),
        (["--layer", "0"], (8, 24, 32, 3)),
        (["--drop-layer", "1", "--scale", "2"], (8, 48, 64, 3)),
        (["--stabilize", "1.5", "--stabilize-layer", "1"], (8, 24, 32, 3)),
        (["--canonical", "--canonical-extent", "1.5", "--frames", "2:4"], (2, 36, 48, 3)),
    ],
)
def test_cli_writes_each_view(tiny_cfv: str, tmp_path: Path, options: list, shape: tuple) -> None:
    output = tmp_path / "view.mkv"
    code, _, stderr = run("decode", tiny_cfv, "-o", output, "--quiet", *options)
    assert code == 0, stderr
    assert read_video(output).frames_u8.shape == shape


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--layer", "7"], "--layer 7 is out of range"),
        (["--drop-layer", "2"], "--drop-layer 2 is out of range"),
        (["--layer", "-1"], "--layer"),
        (["--alpha-map", "--drop-layer", "0"], "only one of"),
        (["--canonical", "--stabilize", "2"], "cannot be used together"),
        (["--stabilize", "0"], "--stabilize"),
        (["--canonical-extent", "2"], "needs --canonical"),
    ],
)
def test_cli_refuses_bad_views(tiny_cfv: str, tmp_path: Path, options: list, message: str) -> None:
    output = tmp_path / "view.mkv"
    assert_one_line_error(*run("decode", tiny_cfv, "-o", output, *options)[::2], 2, message)
    assert not output.exists()
