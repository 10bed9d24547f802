"""The little-endian field reader and writer of the .cfv format."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream.fields import ByteReader, ByteWriter
from nvcodec.errors import CfvError


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**8 - 1),
    st.integers(-(2**7), 2**7 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=10),
)
def test_fields_round_trip(u8, i8, u16, u32, varint, raw) -> None:
    w = ByteWriter()
    w.u8(u8)
    w.i8(i8)
    w.u16(u16)
    w.u32(u32)
    w.uvarint(varint)
    w.raw(raw)
    w.array(np.arange(3, dtype=np.int32), "<f2")
    r = ByteReader(w.getvalue())
    assert r.u8("a") == u8 and r.i8("b") == i8 and r.u16("c") == u16 and r.u32("d") == u32
    assert r.uvarint("g", 2**64 - 1) == varint
    assert r.raw(len(raw), "h") == raw
    halves = r.array("<f2", 3, "i")
    assert halves.dtype == np.float16 and halves.tolist() == [0.0, 1.0, 2.0]
    r.expect_end("the fields")


def test_reader_names_the_truncated_field() -> None:
    r = ByteReader(b"\x01\x02\x03")
    with pytest.raises(CfvError, match="truncated frame count: needs 4 bytes, 3 left"):
        r.u32("frame count")
    with pytest.raises(CfvError, match="truncated scales: needs 8000000000 bytes"):
        r.array("<f8", 10**9, "scales")
    assert r.u16("x") == 0x0201
    with pytest.raises(CfvError, match="1 unexpected bytes after header"):
        r.expect_end("header")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00", "shortest form"),
        (b"\xff\xff\xff\xff\x10", "exceeds"),
        (b"\x81\x80", "truncated"),
        (b"\x80" * 20, "too many bytes"),
        (b"\x80\x80\x80\x80\x80\x01", "too many bytes"),
    ],
)
def test_uvarint_is_canonical_and_bounded(data: bytes, message: str) -> None:
    with pytest.raises(CfvError, match=message):
        ByteReader(data).uvarint("count", 2**32 - 1)


def test_writer_refuses_values_that_do_not_fit() -> None:
    w = ByteWriter()
    for method, value in [(w.u8, 256), (w.i8, -129), (w.u16, -1), (w.u32, 2**32)]:
        with pytest.raises(ValueError):
            method(value)
    with pytest.raises(ValueError):
        w.uvarint(-1)
    with pytest.raises(ValueError, match="dtype"):
        w.array(np.zeros(2), "U4")
