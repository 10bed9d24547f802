"""Every tool answers -h as cfv does (tools run as `python -m tools.NAME`)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "tools").rglob("*.py")
    if "def main(" in path.read_text()
)


def test_the_tools_are_found() -> None:
    assert {"tools.demo", "tools.device_check", "tools.bench.speed"} <= set(TOOLS)


@pytest.mark.parametrize("module", TOOLS)
def test_dash_h_shows_the_help(module: str) -> None:
    command = importlib.import_module(module).main
    if not isinstance(command, click.Command):  # the GPU check parses with the standard library
        done = subprocess.run(
            [sys.executable, "-m", module, "-h"], capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0 and done.stdout.startswith("usage: "), done.stderr
        return
    result = CliRunner().invoke(command, ["-h"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
