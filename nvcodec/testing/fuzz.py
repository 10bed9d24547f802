"""Byte-level damage to .cfv files, for the robustness tests and tools/fuzz_cfv.py.

Two kinds of damage: raw edits anywhere in the file (which the CRCs should catch), and edits
inside one chunk's payload with the chunk's length and CRC rewritten to match, which get past
the container and test the bounds checks of every field behind it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nvcodec.bitstream.cfv import CRITICAL_TYPES, VERSION
from nvcodec.bitstream.container import read_container, write_container
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.errors import CfvError

Edit = tuple[int, int, int]
"""(kind, position, value): kind 0 flips bit `value % 8` of a byte, 1 inserts the byte `value`,
2 deletes a byte, 3 truncates; the position is taken modulo the length plus one."""


def mutate(data: bytes, edits: Sequence[Edit]) -> bytes:
    """`data` with the edits applied in order."""
    out = bytearray(data)
    for kind, where, value in edits:
        where %= len(out) + 1
        if kind == 0 and where < len(out):
            out[where] ^= 1 << (value % 8)
        elif kind == 1:
            out.insert(where, value % 256)
        elif kind == 2 and where < len(out):
            del out[where]
        elif kind == 3:
            del out[where:]
        if not out:
            break
    return bytes(out)


def mutate_chunk(data: bytes, chunk: int, edits: Sequence[Edit]) -> bytes:
    """A valid container whose chunk number `chunk` (modulo the count) has an edited payload,
    with its length and CRC rewritten to match. `data` must be a valid .cfv file."""
    version, chunks = read_container(data, set(CRITICAL_TYPES), VERSION.major)
    if not chunks:
        return data
    index = chunk % len(chunks)
    chunk_type, payload = chunks[index]
    chunks[index] = (chunk_type, mutate(payload, edits))
    return write_container(version, chunks)


def decode_outcome(data: bytes) -> str:
    """'ok' for a file whose every segment decodes and that renders a frame, 'refused' for a
    CfvError; any other exception propagates, as it is a defect of the reader."""
    try:
        clip = ClipModels.open(data, torch.device("cpu"))
        for number in range(len(clip.spans)):
            clip.segment(number)
        next(iter(clip.render(View(), 3, 2, torch.zeros(1, dtype=torch.float64))))
    except CfvError:
        return "refused"
    return "ok"
