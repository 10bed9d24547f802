"""Outputs that appear whole or not at all, and only where the user named them.

A file is written under a temporary name in its folder and renamed when complete, so a crash,
Ctrl-C or SIGTERM leaves the temporary file removed and any earlier file of that name
untouched. A symbolic link is followed: its target is replaced and the link kept. Stdout (`-`),
pipes and devices are written through, since a rename would replace them with a file. The
checks can run before any work, so a long encode never ends on an output it cannot write.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np

from nvcodec.errors import FileError, SettingsError
from nvcodec.io.video import STDIO, is_stream, output_format, png_name, write_video


def check_output(path: str | os.PathLike, overwrite: bool, source: object = None) -> None:
    """Refuse an output that exists (unless `overwrite`), is a directory, is the input file
    `source`, or lies in a folder that is missing or cannot take a new file."""
    name = str(path)
    if is_stream(name):
        return
    _refuse_existing(name, overwrite, source)
    _check_folder(name, shown=name)


def check_video_output(
    path: str | os.PathLike, overwrite: bool, format: str | None = None, source: object = None
) -> str:
    """`check_output` for a video or PNG pattern; returns the format it will be written in."""
    kind = output_format(path, format)
    if kind == "png" and not is_stream(path):
        _check_folder(png_name(str(path), 0), shown=str(path))  # names are checked when known
    else:
        check_output(path, overwrite, source)
    return kind


@contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside `path` (its link target, if a link) with the same suffix;
    rename it onto that when the block succeeds, delete it when it fails. A stream's own
    path is yielded, to be written through."""
    check_output(path, overwrite)
    if is_stream(path):
        yield Path(path)
        return
    target = Path(os.path.realpath(path))
    try:
        temporary = _new_temporary(target)
    except OSError as exc:
        raise FileError(f"{path}: cannot write here ({_folder_problem(target, exc)})") from None
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_file(path: str | os.PathLike, data: bytes, overwrite: bool) -> None:
    """Write `data` to `path` atomically, or to stdout when `path` is `-`."""
    if str(path) == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with atomic_output(path, overwrite) as temporary:
        temporary.write_bytes(data)


def write_frames(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    first: int,
    count: int,
    fps: Fraction,
    *,
    overwrite: bool,
    lossless: bool = False,
    colour: Mapping[str, int] | None = None,
    format: str | None = None,
) -> None:
    """Write `count` frames atomically; PNG files are numbered by frame from `first`."""
    options = {"lossless": lossless, "colour": colour, "format": format}
    if output_format(path, format) == "png" and not is_stream(path):
        with atomic_pattern(str(path), first, count, overwrite) as temporary:
            write_video(temporary, frames, fps, **options)
    else:
        with atomic_output(path, overwrite) as temporary:
            write_video(temporary, frames, fps, **options)


def check_pattern(pattern: str, first: int, count: int, overwrite: bool) -> list[Path]:
    """The names of frames `first` to `first + count - 1` under a PNG pattern, refusing
    existing ones unless `overwrite`; the pattern's integer field must lie in the file name,
    and its folder must exist."""
    names = [Path(png_name(pattern, index)) for index in range(first, first + count)]
    if len(set(names)) != count:
        raise SettingsError(f"{pattern}: the pattern gives the same name to several frames")
    if any(name.parent != names[0].parent for name in names):
        raise SettingsError(f"{pattern}: the frame number must be in the file name, not a folder")
    for name in names:
        _refuse_existing(str(name), overwrite, source=None)
    _check_folder(str(names[0]), shown=pattern)
    return names


@contextmanager
def atomic_pattern(pattern: str, first: int, count: int, overwrite: bool) -> Iterator[str]:
    """Yield a pattern inside a temporary folder beside the frames, to be written with frames
    numbered from 0; when the block succeeds, move them into place numbered from `first`;
    when it fails, delete them all."""
    names = check_pattern(pattern, first, count, overwrite)
    folder = names[0].parent
    try:
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


def _refuse_existing(name: str, overwrite: bool, source: object) -> None:
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:  # such as a file where a folder should be: /dev/null/x.cfv
        raise FileError(f"{name}: cannot write here ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise FileError(f"{name}: is a directory")
    if isinstance(source, str | os.PathLike) and _same_file(source, name):
        raise FileError(f"{name}: is the input; name another output")
    if not overwrite:
        raise FileError(f"{name}: already exists (use -y to overwrite)")


def _check_folder(name: str, shown: str) -> None:
    """Create and remove a file where `name` will be written, so that a missing folder, a
    read-only one or a full disk shows now; errors name the output as `shown`."""
    target = Path(os.path.realpath(name))
    try:
        _new_temporary(target).unlink()
    except OSError as exc:
        raise FileError(f"{shown}: cannot write here ({_folder_problem(target, exc)})") from None


def _new_temporary(target: Path) -> Path:
    """A new empty file beside `target`, hidden, with the same suffix."""
    temporary = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}")
    # Created here, with the usual permissions, so that no other process can take the name.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return temporary


def _same_file(first: str | os.PathLike, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _folder_problem(target: Path, exc: OSError) -> str:
    if not target.parent.is_dir():
        return f"no folder {target.parent}"
    return exc.strerror or str(exc)
