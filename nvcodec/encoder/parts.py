"""The finished segments of an encode on disk, so that an interrupted encode resumes.

A work directory holds `encode.json` (what the encode is: input, settings, segment length) and
one complete one-model .cfv file per finished segment, each written under a temporary name and
renamed. It is created only where nothing exists yet, reused only by `--resume` for the same
encode, and removed, with only the files it made, once the output is written.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from nvcodec.bitstream.cfv import parse_cfv
from nvcodec.errors import CfvError, FileError, SettingsError
from nvcodec.io.atomic import write_file

MANIFEST = "encode.json"
PART_PATTERN = "segment-{:05d}.cfv"


def default_work_dir(output: str | os.PathLike) -> Path:
    """The work directory of an output: beside it, named after it."""
    path = Path(output)
    return path.with_name(f"{path.name}.parts")


class WorkDir:
    """The parts of one encode in `path`."""

    def __init__(self, path: str | os.PathLike, job: dict, resume: bool, restart: bool) -> None:
        """Create the directory, or with `resume` take up the one left by the same `job`, or
        with `restart` clear the one left by any encode; refuse a directory that holds anything
        else."""
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if (self.path.exists() or self.path.is_symlink()) and not manifest.is_file():
            raise FileError(f"{self.path}: exists and is not an encode's work directory")
        if manifest.is_file() and restart and not resume:
            self.remove()
        if self.path.exists():
            if not resume:
                raise FileError(
                    f"{self.path}: holds an unfinished encode; add --resume to continue it, "
                    "-y to start it again, or remove the directory"
                )
            try:
                stored = json.loads(manifest.read_text())
            except (OSError, ValueError):
                raise FileError(f"{manifest}: unreadable; remove {self.path}") from None
            if stored != job:
                raise SettingsError(
                    f"{self.path}: holds an encode with other settings or input; "
                    "remove it to start this one"
                )
            return
        try:
            self.path.mkdir()
            write_file(manifest, json.dumps(job, sort_keys=True).encode(), overwrite=False)
        except OSError as exc:
            raise FileError(f"{self.path}: cannot create ({exc.strerror})") from None

    def part(self, number: int, frames: int) -> bytes | None:
        """Segment `number`'s file if a finished, intact one of `frames` frames is here."""
        path = self.path / PART_PATTERN.format(number)
        try:
            data = path.read_bytes()
            if parse_cfv(data).info.canvas.num_frames == frames:
                return data
        except (OSError, CfvError):
            pass
        return None

    def save(self, number: int, data: bytes) -> None:
        write_file(self.path / PART_PATTERN.format(number), data, overwrite=True)

    def finished(self) -> int:
        """How many segments are kept here."""
        return len(list(self._parts()))

    def _parts(self) -> Iterator[Path]:
        return self.path.glob(PART_PATTERN.replace("{:05d}", "[0-9]" * 5))

    def remove(self) -> None:
        """Delete the parts and the manifest, then the directory if nothing else is in it."""
        for path in self._parts():
            path.unlink(missing_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the user put something of their own here: it stays
            self.path.rmdir()
