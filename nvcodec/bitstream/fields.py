"""Little-endian byte fields for the .cfv format: a reader that checks every length before it
reads, and the matching writer. Only the widths the format uses exist."""

from __future__ import annotations

import struct

import numpy as np
from numpy.typing import DTypeLike

from nvcodec.errors import CfvError

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


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

    def _unpack(self, fmt: struct.Struct, what: str) -> int:
        return fmt.unpack(self.raw(fmt.size, what))[0]

    def u8(self, what: str) -> int:
        return int(self._unpack(_U8, what))

    def i8(self, what: str) -> int:
        return int(self._unpack(_I8, what))

    def u16(self, what: str) -> int:
        return int(self._unpack(_U16, what))

    def u32(self, what: str) -> int:
        return int(self._unpack(_U32, what))

    def u64(self, what: str) -> int:
        return int(self._unpack(_U64, what))

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

    def _pack(self, fmt: struct.Struct, value: int) -> None:
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

    def u32(self, value: int) -> None:
        self._pack(_U32, value)

    def u64(self, value: int) -> None:
        self._pack(_U64, value)

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
