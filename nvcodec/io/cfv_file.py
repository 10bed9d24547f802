"""A .cfv file as the API and `cfv info` take it: a path, `-` for stdin, its bytes or a binary
file object, refused with one line (missing, a folder, not a .cfv file) before the whole file
is read, and described by `probe` without torch."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

from nvcodec.bitstream.cfv import CfvInfo, probe_cfv
from nvcodec.bitstream.container import MAX_CHUNK_LENGTH, SIGNATURE, check_signature
from nvcodec.errors import CfvError, FileError
from nvcodec.io.video import STDIO

MAX_FILE_BYTES = 2 * MAX_CHUNK_LENGTH
"""A .cfv file larger than this cannot hold a model within the format's bounds."""

CfvInput = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def probe(input: CfvInput) -> CfvInfo:
    """Describe a .cfv file (a path, `-` for stdin, its bytes or a binary file object):
    header, architecture, sizes, metadata."""
    return probe_cfv(read_cfv_bytes(input))


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
    try:
        with path.open("rb") as handle:
            head = _signature(handle, path)
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CfvError(f"{path}: too large for a .cfv file")
            return head + handle.read()
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot read ({exc.strerror})") from None


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
