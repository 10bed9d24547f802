"""Outputs that appear whole or not at all: written under a temporary name, renamed when done.

A crash or Ctrl-C while writing leaves the temporary file (or folder) removed and any earlier
file of the same name untouched.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nvcodec.errors import FileError, SettingsError
from nvcodec.io.video import png_name


def check_output(path: str | os.PathLike, overwrite: bool) -> None:
    """Refuse an existing output unless `overwrite`, and anything that is not a plain file."""
    path = Path(path)
    if path.is_dir():
        raise FileError(f"{path}: is a directory")
    if path.exists() and not overwrite:
        raise FileError(f"{path}: already exists (use -y to overwrite)")


@contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside `path` with the same suffix; rename it onto `path` when the
    block succeeds, delete it when it fails."""
    path = Path(path)
    check_output(path, overwrite)
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.part{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created here, with the usual permissions, so that no other process can take the name.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise FileError(f"{path}: cannot write here ({exc.strerror})") from None
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def check_pattern(pattern: str, first: int, count: int, overwrite: bool) -> list[Path]:
    """The names of frames `first` to `first + count - 1` under a PNG pattern, refusing
    existing ones unless `overwrite`; the pattern's integer field must lie in the file name."""
    names = [Path(png_name(pattern, index)) for index in range(first, first + count)]
    if len(set(names)) != count:
        raise SettingsError(f"{pattern}: the pattern gives the same name to several frames")
    if any(name.parent != names[0].parent for name in names):
        raise SettingsError(f"{pattern}: the frame number must be in the file name, not a folder")
    for name in names:
        check_output(name, overwrite)
    return names


@contextmanager
def atomic_pattern(pattern: str, first: int, count: int, overwrite: bool) -> Iterator[str]:
    """Yield a pattern inside a temporary folder beside the frames' folder, to be written with
    frames numbered from 0; when the block succeeds, move them into place numbered from
    `first`; when it fails, delete them all."""
    names = check_pattern(pattern, first, count, overwrite)
    folder = names[0].parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=".cfv-frames.", dir=folder))
    except OSError as exc:
        raise FileError(f"{folder}: cannot write here ({exc.strerror})") from None
    try:
        written = str(temporary / Path(pattern).name)
        yield written
        for index, name in enumerate(names):
            os.replace(png_name(written, index), name)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
