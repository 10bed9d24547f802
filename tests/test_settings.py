"""The settings checks shared by the CLI and the API: what they accept, and that anything else
is a one-line SettingsError, never another exception."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvcodec.errors import SettingsError
from nvcodec.model.canvas import parse_fps
from nvcodec.settings import MAX_SIDE, device_name, frame_range, frame_size

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.text(alphabet="0123456789:x- ", max_size=8),
    st.lists(st.one_of(st.integers(), st.none(), st.text(max_size=3)), max_size=3),
    st.tuples(st.integers(), st.integers()),
    st.builds(slice, st.integers(-5, 5), st.integers(-5, 5), st.integers(-2, 2)),
    st.just(object()),
)


@pytest.mark.parametrize("parse", [frame_range, frame_size, parse_fps, device_name])
@given(value=ANYTHING)
def test_a_value_is_accepted_or_refused_in_one_line(parse, value: object) -> None:
    try:
        parse(value)
    except SettingsError as exc:
        assert str(exc) and "\n" not in str(exc)


@given(start=st.integers(0, 10**6), length=st.integers(1, 10**6))
def test_frame_ranges_in_every_spelling(start: int, length: int) -> None:
    stop = start + length
    for spelling in (f"{start}:{stop}", (start, stop), [start, stop], slice(start, stop)):
        assert frame_range(spelling) == (start, stop)
    assert frame_range(f"{start}:") == (start, None)
    assert frame_range(f":{stop}") == (None, stop)


@given(n=st.integers(0, 10**6))
def test_a_bare_frame_number_is_refused_with_both_readings(n: int) -> None:
    for value in (n, str(n)):
        with pytest.raises(SettingsError, match=f"use --frames 0:{n} for {n} frames, {n}:"):
            frame_range(value)


@given(width=st.integers(1, MAX_SIDE), height=st.integers(1, MAX_SIDE))
def test_sizes(width: int, height: int) -> None:
    assert frame_size(f"{width}x{height}") == frame_size((width, height)) == (width, height)
    with pytest.raises(SettingsError, match="out of range"):
        frame_size((width + MAX_SIDE, height))


def test_frame_rates_and_devices() -> None:
    assert parse_fps("30000/1001") == Fraction(30000, 1001)
    assert parse_fps(29.97) == Fraction(2997, 100)
    assert [device_name(d) for d in ("auto", "cpu", "cuda", "cuda:3", None)] == [
        "auto", "cpu", "cuda", "cuda:3", "auto",
    ]  # fmt: skip
