"""Reading a .cfv file's bytes from a path: missing files, folders and non-.cfv files are
refused with one line before the whole file is read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nvcodec.bitstream.container import MAX_CHUNK_LENGTH, SIGNATURE, check_signature
from nvcodec.errors import CfvError, FileError
from nvcodec.io.video import STDIO

MAX_FILE_BYTES = 2 * MAX_CHUNK_LENGTH
"""A .cfv file larger than this cannot hold a model within the format's bounds."""


def read_cfv_bytes(input: str | os.PathLike | bytes | bytearray | memoryview) -> bytes:
    """The bytes of a .cfv file given as a path, `-` for stdin, or the bytes themselves."""
    if isinstance(input, bytes | bytearray | memoryview):
        return bytes(input)
    if str(input) == STDIO:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise CfvError("stdin: too large for a .cfv file")
        return data
    path = Path(input)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SIGNATURE))
            check_signature(head)
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CfvError(f"{path}: too large for a .cfv file")
            return head + handle.read()
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot read ({exc.strerror})") from None
