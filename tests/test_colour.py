"""The exact RGB <-> YUV conversion: textbook values, round trips, 4:2:0 by box average."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nvcodec.errors import SettingsError
from nvcodec.io.colour import Colour, Yuv, rgb_to_yuv, yuv_to_rgb

RED, WHITE, BLACK = (255, 0, 0), (255, 255, 255), (0, 0, 0)
COLOURS = [Colour(m, r) for m in ("bt601", "bt709") for r in ("limited", "full")]


@pytest.mark.parametrize(
    ("colour", "red_yuv"),
    [
        (Colour("bt601", "limited"), (81, 90, 240)),  # BT.601's own worked example
        (Colour("bt709", "limited"), (63, 102, 240)),
        (Colour("bt601", "full"), (76, 85, 255)),
        (Colour("bt709", "full"), (54, 99, 255)),
    ],
)
def test_textbook_values(colour: Colour, red_yuv: tuple[int, int, int]) -> None:
    pixels = np.array([[RED, WHITE, BLACK]], np.uint8)
    yuv = rgb_to_yuv(pixels, colour, "4:4:4")
    low, high = (16, 235) if colour.range == "limited" else (0, 255)
    assert [int(plane[0, 0]) for plane in yuv.planes] == list(red_yuv)
    assert [int(plane[0, 1]) for plane in yuv.planes] == [high, 128, 128]
    assert [int(plane[0, 2]) for plane in yuv.planes] == [low, 128, 128]
    assert np.array_equal(yuv_to_rgb(yuv, colour)[0, 1:], [WHITE, BLACK])


FRAMES = arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3)))


@settings(max_examples=40, deadline=None)
@given(frame=FRAMES, colour=st.sampled_from(COLOURS))
def test_444_round_trip_is_within_the_quantization_of_8_bits(frame, colour: Colour) -> None:
    """Limited range has 219 luma levels for 256 RGB levels: at most 2 levels back; full
    range at most 1."""
    back = yuv_to_rgb(rgb_to_yuv(frame, colour, "4:4:4"), colour)
    bound = 2 if colour.range == "limited" else 1
    assert np.abs(back.astype(int) - frame).max() <= bound


@settings(max_examples=40, deadline=None)
@given(frame=FRAMES, colour=st.sampled_from(COLOURS))
def test_10_bit_444_round_trip_is_exact(frame, colour: Colour) -> None:
    colour = Colour(colour.matrix, colour.range, bits=10)
    yuv = rgb_to_yuv(frame, colour, "4:4:4")
    assert yuv.y.dtype == np.uint16 and int(yuv.y.max()) <= 1023
    assert np.array_equal(yuv_to_rgb(yuv, colour), frame)


def test_420_chroma_is_the_2x2_box_average() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 8, 10, 3), dtype=np.uint8)
    colour = Colour("bt601", "limited")
    full = rgb_to_yuv(frames, colour, "4:4:4")
    half = rgb_to_yuv(frames, colour, "4:2:0")
    assert half.y.shape == (2, 8, 10) and half.u.shape == (2, 4, 5) and half.chroma == "4:2:0"
    assert np.array_equal(half.y, full.y)
    for sub, whole in ((half.u, full.u), (half.v, full.v)):
        blocks = whole.astype(float).reshape(2, 4, 2, 5, 2).mean(axis=(2, 4))
        assert np.abs(sub - blocks).max() <= 1  # rounded once, not twice


def test_420_round_trip_of_flat_and_smooth_frames() -> None:
    """A flat frame comes back as in 4:4:4; a horizontal chroma ramp comes back through the
    bilinear upsampling within a level inside the frame."""
    colour = Colour("bt709", "limited")
    flat = np.broadcast_to(np.array([200, 30, 90], np.uint8), (6, 8, 3)).copy()
    assert np.abs(yuv_to_rgb(rgb_to_yuv(flat, colour), colour).astype(int) - flat).max() <= 2
    ramp = Yuv(
        np.full((4, 16), 120, np.uint8),
        np.tile(np.arange(100, 132, 4, dtype=np.uint8), (2, 1)),
        np.full((2, 8), 128, np.uint8),
    )
    doubled = rgb_to_yuv(yuv_to_rgb(ramp, colour), colour, "4:4:4").u.astype(float)
    expected = 100 + 4 * (np.arange(16) - 0.5) / 2  # the ramp at the full-size sample sites
    assert np.abs(doubled[:, 1:-1] - expected[1:-1]).max() <= 1


def test_bad_settings_are_settings_errors() -> None:
    with pytest.raises(SettingsError, match="even width and height"):
        rgb_to_yuv(np.zeros((3, 4, 3), np.uint8), Colour(), "4:2:0")
    with pytest.raises(SettingsError, match="unknown matrix"):
        Colour("bt2020")
    with pytest.raises(SettingsError, match="use 8 or 10"):
        Colour(bits=12)
    with pytest.raises(SettingsError, match="chroma format"):
        rgb_to_yuv(np.zeros((2, 2, 3), np.uint8), Colour(), "4:2:2")
