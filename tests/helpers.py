"""Helpers the test modules share: running `cfv` in process, checking a one-line error, and
the edits that fuzz the reader."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import strategies as st

from nvcodec import cli


def run(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `cfv ARGS` run through click's runner."""
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, stderr: str, expected_code: int, message: str) -> None:
    """The command failed with `expected_code` and one `cfv:` line containing `message`."""
    assert code == expected_code, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("cfv: ") and "Traceback" not in stderr
    assert message in stderr


def edit_lists(max_position: int = 2**20) -> st.SearchStrategy:
    """One to four edits of `nvcodec.testing.fuzz.mutate`, at positions up to `max_position`."""
    return st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, max_position), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    )
