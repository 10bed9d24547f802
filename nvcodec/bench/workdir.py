"""A benchmark run's work directory: what makes `--resume` possible.

It holds `run.json` (the settings the run started with), one JSON per finished point (written
whole, after the point is measured) and nvcodec's .cfv files. A resumed run must have the same
settings; it reuses every finished point and redoes only the rest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nvcodec.bench.schema import Point, build, dumps, read_json
from nvcodec.errors import FileError, SettingsError
from nvcodec.io.atomic import atomic_output

RUN_FILE = "run.json"


class WorkDir:
    """The per-point store of one run, started or resumed with `settings` (plain JSON data)."""

    def __init__(self, path: str | os.PathLike, settings: dict, resume: bool) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        run_file = self.path / RUN_FILE
        if run_file.exists():
            if not resume:
                raise FileError(
                    f"{self.path}: holds an earlier run; continue it with --resume, "
                    "or choose another --workdir"
                )
            earlier = read_json(run_file)
            changed = _first_difference(earlier, json.loads(json.dumps(settings)))
            if changed is not None:
                raise SettingsError(
                    f"{self.path}: the earlier run had other settings ({changed}); "
                    "give the same options, or choose another --workdir"
                )
        else:
            self._write(RUN_FILE, json.dumps(settings, indent=1) + "\n")

    def file(self, name: str) -> Path:
        """Where the point `name` keeps a file of its own, such as its .cfv."""
        return self.path / name

    def point(self, name: str) -> Point | None:
        """The finished point `name`, if this run has measured it."""
        path = self.path / f"{name}.json"
        if not path.exists():
            return None
        try:
            return build(Point, read_json(path), name)
        except ValueError as exc:
            raise FileError(f"{path}: not a point of this benchmark ({exc})") from None

    def save(self, name: str, point: Point) -> None:
        self._write(f"{name}.json", dumps(point))

    def record(self, name: str) -> dict[str, Any]:
        """A small JSON record of this run (such as a CRF search's rates), empty if absent."""
        path = self.path / f"{name}.json"
        return read_json(path) if path.exists() else {}

    def save_record(self, name: str, data: dict[str, Any]) -> None:
        self._write(f"{name}.json", json.dumps(data, indent=1) + "\n")

    def _write(self, name: str, text: str) -> None:
        with atomic_output(self.path / name, overwrite=True) as temporary:
            temporary.write_text(text)


def _first_difference(earlier: Any, now: Any, where: str = "") -> str | None:
    """The first setting that differs, as 'key: earlier -> now', or None."""
    if isinstance(earlier, dict) and isinstance(now, dict):
        for key in sorted(earlier.keys() | now.keys()):
            found = _first_difference(earlier.get(key), now.get(key), f"{where}{key}.")
            if found is not None:
                return found
        return None
    if earlier != now:
        return f"{where.rstrip('.')}: {earlier!r} -> {now!r}"
    return None
