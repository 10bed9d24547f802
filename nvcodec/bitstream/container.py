"""The .cfv chunk container: signature, version header and CRC-checked chunks.

The container knows bytes, chunks and the version header; what the version and the chunks mean
is up to the format above (nvcodec.bitstream.cfv).
Layout (all integers little-endian; see spec/cfv.md):

* signature, 8 bytes: ``89 43 46 56 0D 0A 1A 0A`` (``\\x89CFV\\r\\n\\x1a\\n``);
* file header, 10 bytes: u16 major, u16 minor, u16 min_reader_major, u32 CRC-32 of those 6;
* chunks: u32 payload length, 4-byte type, payload, u32 CRC-32 of type + payload;
* the end chunk ``CEND`` with an empty payload, followed by nothing.

A chunk type is four ASCII letters; an uppercase first letter marks a critical chunk, which a
reader must understand, a lowercase one an ancillary chunk, which a reader may ignore.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from nvcodec.bitstream.fields import ByteReader, ByteWriter
from nvcodec.errors import CfvError, CfvVersionError

SIGNATURE = b"\x89CFV\r\n\x1a\n"
END_CHUNK = b"CEND"
MAX_CHUNK_LENGTH = 2**31 - 1
"""Like PNG, lengths stay below 2**31 so that readers with signed 32-bit sizes cope."""

_HEADER = struct.Struct("<HHH")


def is_critical(chunk_type: bytes) -> bool:
    """Whether a reader must understand ``chunk_type`` (its first letter is uppercase)."""
    return chunk_type[:1].isupper()


@dataclass(frozen=True)
class Version:
    """A file's version header: the format version it was written in, and the oldest reader
    major version that can read it."""

    major: int
    minor: int
    min_reader_major: int


def _is_valid_type(chunk_type: bytes) -> bool:
    return len(chunk_type) == 4 and chunk_type.isascii() and chunk_type.isalpha()


def _chunk_name(chunk_type: bytes) -> str:
    return repr(chunk_type.decode("ascii", "backslashreplace"))


def write_container(version: Version, chunks: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A complete .cfv file: signature, ``version``, ``chunks`` (type, payload) in order, then
    ``CEND``."""
    w = ByteWriter()
    w.raw(SIGNATURE)
    header = _HEADER.pack(version.major, version.minor, version.min_reader_major)
    w.raw(header)
    w.u32(zlib.crc32(header))
    chunks = list(chunks)
    for chunk_type, _ in chunks:
        if not _is_valid_type(chunk_type) or chunk_type == END_CHUNK:
            raise ValueError(f"chunk type must be 4 ASCII letters other than CEND: {chunk_type!r}")
    for chunk_type, payload in [*chunks, (END_CHUNK, b"")]:
        if len(payload) > MAX_CHUNK_LENGTH:
            raise ValueError(f"chunk {_chunk_name(chunk_type)} is larger than 2**31 - 1 bytes")
        w.u32(len(payload))
        w.raw(chunk_type)
        w.raw(payload)
        w.u32(zlib.crc32(payload, zlib.crc32(chunk_type)))
    return w.getvalue()


def check_signature(data: bytes) -> None:
    """Raise :class:`CfvError`, saying what went wrong, unless ``data`` starts with the .cfv
    signature."""
    head = data[: len(SIGNATURE)]
    if head == SIGNATURE:
        return
    if SIGNATURE.startswith(head):
        raise CfvError("truncated file: incomplete .cfv signature")
    if head[1:4] == b"CFV":
        raise CfvError(
            "bad .cfv signature: line endings or the high bit of the first byte were altered, "
            "as a text-mode (non-binary) transfer does; copy the file in binary mode"
        )
    raise CfvError("not a .cfv file (bad signature)")


HEADER_BYTES = len(SIGNATURE) + _HEADER.size + 4
"""The signature and the file header: where the first chunk starts."""
CHUNK_OVERHEAD = 12
"""The bytes of a chunk beyond its payload: length, type and CRC."""


def read_header(r: ByteReader, reader_major: int) -> Version:
    """The signature and version header at the start of `r`; `reader_major` is the newest
    major version the caller reads."""
    check_signature(r.raw(min(len(SIGNATURE), r.remaining), "signature"))
    header = r.raw(_HEADER.size, "file header")
    if r.u32("file header CRC") != zlib.crc32(header):
        raise CfvError("file header CRC mismatch (file is corrupt)")
    version = Version(*_HEADER.unpack(header))
    if version.min_reader_major > reader_major:
        raise CfvVersionError(
            f"file needs cfv reader version {version.min_reader_major}, "
            f"this is version {reader_major}"
        )
    return version


def read_chunk(r: ByteReader) -> tuple[bytes, bytes]:
    """The next chunk of `r` as (type, payload), its length and CRC checked."""
    length = r.u32("chunk length")
    chunk_type = r.raw(4, "chunk type")
    name = _chunk_name(chunk_type)
    if length > MAX_CHUNK_LENGTH:
        raise CfvError(f"{name} chunk length {length} exceeds 2**31 - 1")
    # Checked before reading so a corrupt length cannot trigger a huge allocation.
    if length > r.remaining:
        raise CfvError(
            f"truncated {name} chunk: length {length} exceeds the {r.remaining} bytes left"
        )
    payload = r.raw(length, f"{name} chunk")
    if r.u32(f"{name} chunk CRC") != zlib.crc32(payload, zlib.crc32(chunk_type)):
        raise CfvError(f"CRC mismatch in {name} chunk (file is corrupt)")
    if not _is_valid_type(chunk_type):
        raise CfvError(f"invalid chunk type {name}")
    return chunk_type, payload


def check_known(chunk_type: bytes, known_critical: set[bytes]) -> None:
    """Refuse a critical chunk type the caller does not understand."""
    if is_critical(chunk_type) and chunk_type not in known_critical:
        raise CfvError(f"unknown critical chunk {_chunk_name(chunk_type)}")


def read_container(
    data: bytes | bytearray | memoryview, known_critical: set[bytes], reader_major: int
) -> tuple[Version, list[tuple[bytes, bytes]]]:
    """Check a .cfv file and return its version and chunks (type, payload) in order, without
    ``CEND``; `reader_major` is the newest major version the caller reads.

    Ancillary chunks are returned whether or not the caller knows them; callers ignore the
    types they do not understand. Raises :class:`CfvVersionError` if the file needs a newer
    reader and :class:`CfvError` for any other defect: bad signature, header or chunk CRC
    mismatch, truncation, a critical chunk type not in ``known_critical``, a malformed or
    missing ``CEND`` chunk, or bytes after it.
    """
    r = ByteReader(data)
    version = read_header(r, reader_major)
    chunks: list[tuple[bytes, bytes]] = []
    while r.remaining:
        chunk_type, payload = read_chunk(r)
        if chunk_type == END_CHUNK:
            if payload:
                raise CfvError("CEND chunk must be empty")
            r.expect_end("the CEND chunk")
            return version, chunks
        check_known(chunk_type, known_critical)
        chunks.append((chunk_type, payload))
    raise CfvError("truncated file: missing CEND chunk")
