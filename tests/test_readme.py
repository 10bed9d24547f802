"""The README's measurement tables are generated from the committed results, never by hand."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tables_match_the_results() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "tools.report", "--check"], capture_output=True, cwd=ROOT
    )
    assert check.returncode == 0, "README.md is stale: run python -m tools.report"
