"""The measurement tables (docs/measurements.md, the README's GPU table) are generated from the
committed results, never by hand."""

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tools import report

ROOT = Path(__file__).resolve().parents[1]


def test_generated_tables_match_the_results() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "tools.report", "--check"], capture_output=True, cwd=ROOT
    )
    assert check.returncode == 0, check.stderr.decode()


def test_every_result_file_names_its_schema() -> None:
    paths = sorted((ROOT / "tools" / "results").glob("*.json"))
    assert paths
    unnamed = [p.name for p in paths if "schema" not in json.loads(p.read_text())]
    assert unnamed == []


def test_every_shown_result_has_a_renderer_for_its_schema() -> None:
    for name in report.SECTIONS:
        result = report.load(name) or report.load(f"{name}_quick")
        if result is not None:
            assert result["schema"] in report.RENDERERS, name


def test_a_result_of_an_unknown_schema_is_a_clear_error() -> None:
    with pytest.raises(
        click.ClickException, match=r"x\.json: no measurements section for schema 'x/9'"
    ):
        report.section("x", {"schema": "x/9"})
    with pytest.raises(click.ClickException, match="schema None"):
        report.section("x", {})
