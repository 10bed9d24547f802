"""A .cfv file as the API and `cfv info` take it: a path, `-` for stdin, its bytes or a binary
file object, refused with one line (missing, a folder, not a .cfv file) before the whole file
is read, and described by `probe` without torch. A segmented file on disk is read by its index:
`open_cfv` fetches only the segments a decode needs."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nvcodec.bitstream.cfv import CfvInfo
from nvcodec.bitstream.container import MAX_CHUNK_LENGTH, SIGNATURE, check_signature
from nvcodec.bitstream.segments import SegmentedSource, open_segments, probe_cfv
from nvcodec.errors import CfvError, FileError
from nvcodec.io.video import STDIO

MAX_FILE_BYTES = 2 * MAX_CHUNK_LENGTH
"""A .cfv file larger than this cannot hold a model within the format's bounds."""

CfvInput = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def probe(input: CfvInput) -> CfvInfo:
    """Describe a .cfv file (a path, `-` for stdin, its bytes or a binary file object):
    header, architecture, sizes, metadata."""
    return probe_cfv(read_cfv_bytes(input))


def open_cfv(input: CfvInput) -> SegmentedSource | bytes:
    """A segmented file on disk as its index (segments are read when asked for), anything else
    as its bytes."""
    if isinstance(input, str | os.PathLike) and str(input) != STDIO:
        path = Path(input)
        with _opened(path) as handle:
            _signature(handle, path)
            size = path.stat().st_size

        def read_at(offset: int, count: int) -> bytes:
            with _opened(path) as handle:
                handle.seek(offset)
                return handle.read(count)

        source = open_segments(read_at, size)
        if source is not None:
            return source
    return read_cfv_bytes(input)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    """`path` open for reading, its failures as one-line FileErrors."""
    try:
        with path.open("rb") as handle:
            yield handle
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot read ({exc.strerror})") from None


def read_cfv_bytes(input: CfvInput) -> bytes:
    """The bytes of a .cfv file given as a path, `-` for stdin, the bytes themselves, or a file
    object opened in binary mode."""
    if isinstance(input, bytes | bytearray | memoryview):
        return bytes(input)
    if hasattr(input, "read"):
        return _read_from(input, getattr(input, "name", "the file object"))
    if not isinstance(input, str | os.PathLike):
        raise FileError(
            f"expected a path, bytes or a binary file object, not {type(input).__name__}"
        )
    if str(input) == STDIO:
        return _read_from(sys.stdin.buffer, "stdin")
    path = Path(input)
    with _opened(path) as handle:
        head = _signature(handle, path)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CfvError(f"{path}: too large for a .cfv file")
        return head + handle.read()


def _read_from(handle: BinaryIO, name: object) -> bytes:
    head = _signature(handle, name)
    rest = handle.read(MAX_FILE_BYTES + 1 - len(head))
    if len(head) + len(rest) > MAX_FILE_BYTES:
        raise CfvError(f"{name}: too large for a .cfv file")
    return head + rest


def _signature(handle: BinaryIO, name: object) -> bytes:
    """The first bytes, which must be the .cfv signature."""
    head = handle.read(len(SIGNATURE))
    if not isinstance(head, bytes):
        raise FileError(f"{name}: open it in binary mode ('rb') to read a .cfv file")
    check_signature(head)
    return head
