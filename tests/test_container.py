"""The .cfv chunk container: signature, version header, CRC-checked chunks."""

from __future__ import annotations

import contextlib
import string
import struct
import zlib

import pytest
from helpers import edit_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.bitstream.cfv import VERSION
from nvcodec.bitstream.container import (
    END_CHUNK,
    SIGNATURE,
    is_critical,
    read_container,
    write_container,
)
from nvcodec.errors import CfvError, CfvVersionError
from nvcodec.testing.fuzz import mutate

chunk_types = st.text(string.ascii_letters, min_size=4, max_size=4).map(str.encode)
chunk_lists = st.lists(
    st.tuples(chunk_types.filter(lambda t: t != END_CHUNK), st.binary(max_size=40)), max_size=6
)

SAMPLE = [(b"HEAD", b"\x01\x02\x03"), (b"tEXt", b"hello"), (b"DATA", bytes(range(50)))]
KNOWN = {b"HEAD", b"DATA"}


def _header(major: int, minor: int, min_reader: int) -> bytes:
    fields = struct.pack("<HHH", major, minor, min_reader)
    return SIGNATURE + fields + struct.pack("<I", zlib.crc32(fields))


def _chunk(chunk_type: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + payload)
    return struct.pack("<I", len(payload)) + chunk_type + payload + struct.pack("<I", crc)


def _file(*chunks: tuple[bytes, bytes], header: bytes | None = None) -> bytes:
    body = b"".join(_chunk(t, p) for t, p in chunks)
    return (header or _header(1, 5, 1)) + body + _chunk(END_CHUNK, b"")


@settings(max_examples=100, deadline=None)
@given(chunk_lists)
def test_round_trip_of_arbitrary_chunk_lists(chunks: list[tuple[bytes, bytes]]) -> None:
    data = write_container(VERSION, chunks)
    assert read_container(data, {t for t, _ in chunks}, 1)[1] == chunks
    assert read_container(bytearray(data), {t for t, _ in chunks}, 1)[1] == chunks


def test_layout_matches_the_spec_byte_for_byte() -> None:
    assert write_container(VERSION, SAMPLE) == _file(*SAMPLE)
    empty = (
        "89 43 46 56 0D 0A 1A 0A 01 00 05 00 01 00 75 B3 5B 54 00 00 00 00 43 45 4E 44 E6 80 FF C1"
    )
    assert write_container(VERSION, []) == bytes.fromhex(empty)


def test_unknown_ancillary_chunk_is_passed_over() -> None:
    data = _file((b"HEAD", b""), (b"zzZZ", b"future metadata"), (b"DATA", b"x"))
    chunks = read_container(data, KNOWN, 1)[1]
    assert [t for t, _ in chunks] == [b"HEAD", b"zzZZ", b"DATA"]
    assert not is_critical(b"zzZZ") and is_critical(b"DATA")


def test_unknown_critical_chunk_is_refused() -> None:
    with pytest.raises(CfvError, match="unknown critical chunk 'NEWS'"):
        read_container(_file((b"HEAD", b""), (b"NEWS", b"")), KNOWN, 1)[1]


def test_newer_min_reader_version_is_refused() -> None:
    data = _file(*SAMPLE, header=_header(3, 4, 2))
    with pytest.raises(CfvVersionError, match="needs cfv reader version 2, this is version 1"):
        read_container(data, KNOWN, 1)[1]


def test_newer_file_readable_by_version_1_is_accepted() -> None:
    assert read_container(_file(*SAMPLE, header=_header(2, 7, 1)), KNOWN, 1)[1] == SAMPLE


def test_header_crc_mismatch() -> None:
    data = bytearray(write_container(VERSION, SAMPLE))
    data[12] ^= 0x01  # min_reader_major: without the CRC this would read as a version error
    with pytest.raises(CfvError, match="header CRC") as info:
        read_container(bytes(data), KNOWN, 1)[1]
    assert info.type is CfvError


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.replace(b"\r\n", b"\n"),
        lambda d: d.replace(b"\n", b"\r\n"),
        lambda d: bytes([d[0] & 0x7F]) + d[1:],
    ],
    ids=["crlf-to-lf", "lf-to-crlf", "high-bit-stripped"],
)
def test_text_mode_damage_gets_a_hint(damage) -> None:
    with pytest.raises(CfvError, match="text-mode"):
        read_container(damage(write_container(VERSION, SAMPLE)), KNOWN, 1)[1]


def test_other_files_are_not_cfv() -> None:
    with pytest.raises(CfvError, match="not a .cfv file"):
        read_container(b"\x89PNG\r\n\x1a\n" + bytes(30), KNOWN, 1)[1]
    with pytest.raises(CfvError, match="incomplete .cfv signature"):
        read_container(b"", KNOWN, 1)[1]


def test_every_truncation_is_refused() -> None:
    data = write_container(VERSION, SAMPLE)
    for n in range(len(data)):
        with pytest.raises(CfvError):
            read_container(data[:n], KNOWN, 1)[1]


def test_missing_end_chunk() -> None:
    data = write_container(VERSION, SAMPLE)[: -len(_chunk(END_CHUNK, b""))]
    with pytest.raises(CfvError, match="missing CEND"):
        read_container(data, KNOWN, 1)[1]


def test_trailing_bytes_after_end_chunk() -> None:
    with pytest.raises(CfvError, match="after the CEND chunk"):
        read_container(write_container(VERSION, SAMPLE) + b"\x00", KNOWN, 1)[1]


def test_end_chunk_must_be_empty() -> None:
    data = _header(1, 0, 1) + _chunk(END_CHUNK, b"x")
    with pytest.raises(CfvError, match="CEND chunk must be empty"):
        read_container(data, KNOWN, 1)[1]


def test_huge_length_is_refused_before_reading() -> None:
    data = _header(1, 0, 1) + struct.pack("<I", 0xFFFFFFFF) + b"DATA" + bytes(8)
    with pytest.raises(CfvError, match="length 4294967295 exceeds 2"):
        read_container(data, KNOWN, 1)[1]
    data = _header(1, 0, 1) + struct.pack("<I", 2**31 - 1) + b"DATA" + bytes(8)
    with pytest.raises(CfvError, match="length 2147483647 exceeds the 8 bytes left"):
        read_container(data, KNOWN, 1)[1]


def test_chunk_crc_mismatch() -> None:
    data = bytearray(write_container(VERSION, SAMPLE))
    data[len(_header(1, 0, 1)) + 8] ^= 0x40
    with pytest.raises(CfvError, match="CRC mismatch in 'HEAD' chunk"):
        read_container(bytes(data), KNOWN, 1)[1]


def test_chunk_type_must_be_letters_even_with_a_valid_crc() -> None:
    with pytest.raises(CfvError, match="invalid chunk type"):
        read_container(_file((b"DA7A", b"")), KNOWN, 1)[1]


@pytest.mark.parametrize("chunk_type", [b"DAT", b"DATAX", b"DA A", b"D\xc4TA", END_CHUNK])
def test_writer_refuses_bad_chunk_types(chunk_type: bytes) -> None:
    with pytest.raises(ValueError, match="chunk type"):
        write_container(VERSION, [(chunk_type, b"")])


def _parse_or_cfv_error(data: bytes) -> None:
    with contextlib.suppress(CfvError):
        read_container(data, KNOWN, 1)[1]


@settings(max_examples=100, deadline=None)
@given(edit_lists(10_000))
def test_fuzzed_sample_gives_a_parse_or_cfv_error(edits: list[tuple[int, int, int]]) -> None:
    _parse_or_cfv_error(mutate(write_container(VERSION, SAMPLE), edits))


@settings(max_examples=100, deadline=None)
@given(chunk_lists, edit_lists(10_000))
def test_fuzzed_random_files_give_a_parse_or_cfv_error(
    chunks: list[tuple[bytes, bytes]], edits: list[tuple[int, int, int]]
) -> None:
    _parse_or_cfv_error(mutate(write_container(VERSION, chunks), edits))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_garbage_after_a_valid_header_gives_a_parse_or_cfv_error(tail: bytes) -> None:
    _parse_or_cfv_error(_header(1, 0, 1) + tail)
