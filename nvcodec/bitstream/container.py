"""The .cfv chunk container: signature, version header and CRC-checked chunks.

The container knows bytes and chunks only; what the chunks mean is up to the layer above.
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

import numpy as np
from numpy.typing import DTypeLike

from nvcodec.errors import CfvError, CfvVersionError

SIGNATURE = b"\x89CFV\r\n\x1a\n"
VERSION_MAJOR = 1
VERSION_MINOR = 1
MIN_READER_MAJOR = 1
END_CHUNK = b"CEND"
MAX_CHUNK_LENGTH = 2**31 - 1
"""Like PNG, lengths stay below 2**31 so that readers with signed 32-bit sizes cope."""

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I16 = struct.Struct("<h")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_HEADER = struct.Struct("<HHH")


def _little_endian(dtype: DTypeLike) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind not in "biuf":
        raise ValueError(f"unsupported array dtype {dt}")
    return dt.newbyteorder("<")


class ByteReader:
    """Reads little-endian fields from a byte string, checking every length first.

    Each method takes ``what``, a short description of the field, and raises
    :class:`CfvError` ("truncated <what>") if fewer bytes remain than the field needs, so
    no length read from a file is ever used before it has been checked.
    """

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        """Number of bytes not read yet."""
        return len(self._data) - self._pos

    def raw(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes."""
        if n < 0:
            raise ValueError("byte count must be non-negative")
        if n > self.remaining:
            raise CfvError(f"truncated {what}: needs {n} bytes, {self.remaining} left")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def _unpack(self, fmt: struct.Struct, what: str) -> int | float:
        return fmt.unpack(self.raw(fmt.size, what))[0]

    def u8(self, what: str) -> int:
        return int(self._unpack(_U8, what))

    def i8(self, what: str) -> int:
        return int(self._unpack(_I8, what))

    def u16(self, what: str) -> int:
        return int(self._unpack(_U16, what))

    def i16(self, what: str) -> int:
        return int(self._unpack(_I16, what))

    def u32(self, what: str) -> int:
        return int(self._unpack(_U32, what))

    def i32(self, what: str) -> int:
        return int(self._unpack(_I32, what))

    def u64(self, what: str) -> int:
        return int(self._unpack(_U64, what))

    def i64(self, what: str) -> int:
        return int(self._unpack(_I64, what))

    def f32(self, what: str) -> float:
        return float(self._unpack(_F32, what))

    def f64(self, what: str) -> float:
        return float(self._unpack(_F64, what))

    def uvarint(self, what: str, max_value: int) -> int:
        """An unsigned LEB128 integer in its shortest form, at most ``max_value``."""
        value = 0
        shift = 0
        while True:
            byte = self.u8(what)
            value |= (byte & 0x7F) << shift
            if value > max_value:
                raise CfvError(f"{what} exceeds {max_value}")
            if byte < 0x80:
                # A zero final byte after others means a padded, non-canonical encoding.
                if byte == 0 and shift > 0:
                    raise CfvError(f"{what} is not in shortest form")
                return value
            shift += 7
            # Any further byte would be zero (not shortest form) or push the value too high.
            if shift >= max(max_value.bit_length(), 1):
                raise CfvError(f"{what} has too many bytes")

    def array(self, dtype: DTypeLike, count: int, what: str) -> np.ndarray:
        """``count`` little-endian numbers of ``dtype``, as a native-endian array."""
        dt = _little_endian(dtype)
        if count < 0:
            raise ValueError("element count must be non-negative")
        data = self.raw(count * dt.itemsize, what)
        return np.frombuffer(data, dtype=dt).astype(dt.newbyteorder("="))

    def expect_end(self, what: str) -> None:
        """Raise :class:`CfvError` unless every byte has been read."""
        if self.remaining:
            raise CfvError(f"{self.remaining} unexpected bytes after {what}")


class ByteWriter:
    """Builds a byte string of little-endian fields; the inverse of :class:`ByteReader`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def getvalue(self) -> bytes:
        return b"".join(self._parts)

    def raw(self, data: bytes) -> None:
        self._parts.append(bytes(data))

    def _pack(self, fmt: struct.Struct, value: int | float) -> None:
        try:
            self._parts.append(fmt.pack(value))
        except struct.error as exc:
            raise ValueError(f"{value!r} does not fit format {fmt.format!r}") from exc

    def u8(self, value: int) -> None:
        self._pack(_U8, value)

    def i8(self, value: int) -> None:
        self._pack(_I8, value)

    def u16(self, value: int) -> None:
        self._pack(_U16, value)

    def i16(self, value: int) -> None:
        self._pack(_I16, value)

    def u32(self, value: int) -> None:
        self._pack(_U32, value)

    def i32(self, value: int) -> None:
        self._pack(_I32, value)

    def u64(self, value: int) -> None:
        self._pack(_U64, value)

    def i64(self, value: int) -> None:
        self._pack(_I64, value)

    def f32(self, value: float) -> None:
        self._pack(_F32, value)

    def f64(self, value: float) -> None:
        self._pack(_F64, value)

    def uvarint(self, value: int) -> None:
        """Unsigned LEB128: 7 bits per byte, low bits first, high bit set on all but the last."""
        if value < 0:
            raise ValueError("uvarint must be non-negative")
        out = bytearray()
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
        self._parts.append(bytes(out))

    def array(self, values: np.ndarray, dtype: DTypeLike) -> None:
        """The elements of ``values`` in C order as little-endian ``dtype`` numbers."""
        self._parts.append(np.ascontiguousarray(values, dtype=_little_endian(dtype)).tobytes())


def is_critical(chunk_type: bytes) -> bool:
    """Whether a reader must understand ``chunk_type`` (its first letter is uppercase)."""
    return chunk_type[:1].isupper()


def _check_type(chunk_type: bytes) -> bool:
    return len(chunk_type) == 4 and chunk_type.isascii() and chunk_type.isalpha()


def _chunk_name(chunk_type: bytes) -> str:
    return repr(chunk_type.decode("ascii", "backslashreplace"))


def write_container(chunks: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A complete .cfv file holding ``chunks`` (type, payload) in order, then ``CEND``."""
    w = ByteWriter()
    w.raw(SIGNATURE)
    header = _HEADER.pack(VERSION_MAJOR, VERSION_MINOR, MIN_READER_MAJOR)
    w.raw(header)
    w.u32(zlib.crc32(header))
    chunks = list(chunks)
    for chunk_type, _ in chunks:
        if not _check_type(chunk_type) or chunk_type == END_CHUNK:
            raise ValueError(f"chunk type must be 4 ASCII letters other than CEND: {chunk_type!r}")
    for chunk_type, payload in [*chunks, (END_CHUNK, b"")]:
        if len(payload) > MAX_CHUNK_LENGTH:
            raise ValueError(f"chunk {_chunk_name(chunk_type)} is larger than 2**31 - 1 bytes")
        w.u32(len(payload))
        w.raw(chunk_type)
        w.raw(payload)
        w.u32(zlib.crc32(payload, zlib.crc32(chunk_type)))
    return w.getvalue()


def file_version(data: bytes) -> tuple[int, int, int]:
    """(major, minor, min_reader_major) of a file that :func:`read_container` accepted."""
    return _HEADER.unpack_from(data, len(SIGNATURE))


def _check_signature(data: bytes) -> None:
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


def read_container(
    data: bytes | bytearray | memoryview, known_critical: set[bytes]
) -> list[tuple[bytes, bytes]]:
    """Check a .cfv file and return its chunks (type, payload) in order, without ``CEND``.

    Ancillary chunks are returned whether or not the caller knows them; callers ignore the
    types they do not understand. Raises :class:`CfvVersionError` if the file needs a newer
    reader and :class:`CfvError` for any other defect: bad signature, header or chunk CRC
    mismatch, truncation, a critical chunk type not in ``known_critical``, a malformed or
    missing ``CEND`` chunk, or bytes after it.
    """
    data = bytes(data)
    _check_signature(data)
    r = ByteReader(data)
    r.raw(len(SIGNATURE), "signature")
    header = r.raw(_HEADER.size, "file header")
    if r.u32("file header CRC") != zlib.crc32(header):
        raise CfvError("file header CRC mismatch (file is corrupt)")
    _major, _minor, min_reader_major = _HEADER.unpack(header)
    if min_reader_major > VERSION_MAJOR:
        raise CfvVersionError(
            f"file needs cfv reader version {min_reader_major}, this is version {VERSION_MAJOR}"
        )
    chunks: list[tuple[bytes, bytes]] = []
    while r.remaining:
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
        if not _check_type(chunk_type):
            raise CfvError(f"invalid chunk type {name}")
        if chunk_type == END_CHUNK:
            if payload:
                raise CfvError("CEND chunk must be empty")
            r.expect_end("the CEND chunk")
            return chunks
        if is_critical(chunk_type) and chunk_type not in known_critical:
            raise CfvError(f"unknown critical chunk {name}")
        chunks.append((chunk_type, payload))
    raise CfvError("truncated file: missing CEND chunk")
