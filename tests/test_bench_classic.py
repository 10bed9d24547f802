"""The classic codecs' colour path: planes go in and come out exactly as `nvcodec.io.colour`
made them (lossless settings pass them through bit for bit), and swscale is never called."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest

from nvcodec.bench.classic import CODECS, X265_MEDIUM, span_crfs
from nvcodec.io.colour import Colour, rgb_to_yuv, yuv_to_rgb

COLOUR = Colour("bt601", "limited")
LOSSLESS_X265 = {"x265-params": "log-level=error:lossless=1"}


def _clip() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)


@pytest.fixture
def no_swscale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any conversion through PyAV's swscale wrappers fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("swscale was called")

    for name in ("reformat", "to_ndarray", "from_ndarray", "to_rgb"):
        monkeypatch.setattr(av.VideoFrame, name, refuse, raising=False)


@pytest.mark.parametrize(
    ("codec", "options"),
    [
        (X265_MEDIUM, LOSSLESS_X265),
        (CODECS["x265-medium-444"], LOSSLESS_X265),
        (CODECS["x264-medium"], {}),  # crf 0 is lossless in 8-bit x264
    ],
)
def test_lossless_yuv_planes_pass_through_bit_for_bit(no_swscale, codec, options) -> None:
    frames = _clip()
    encoded = replace(codec, options=options).encode(frames, Fraction(25), 0, COLOUR)
    chroma = "4:4:4" if codec.pix_fmt == "yuv444p" else "4:2:0"
    sent = rgb_to_yuv(frames, COLOUR, chroma)
    assert np.array_equal(encoded.rgb, yuv_to_rgb(sent, COLOUR))
    assert np.array_equal(encoded.yuv.y, sent.y)  # the planes scored are 4:2:0
    if chroma == "4:2:0":
        assert np.array_equal(encoded.yuv.u, sent.u) and np.array_equal(encoded.yuv.v, sent.v)


def test_lossless_rgb_comes_back_exactly(no_swscale) -> None:
    frames = _clip()
    codec = replace(CODECS["x265-medium-rgb"], options=LOSSLESS_X265)
    encoded = codec.encode(frames, Fraction(25), 0, COLOUR)
    assert np.array_equal(encoded.rgb, frames)
    assert np.array_equal(encoded.yuv.y, rgb_to_yuv(frames, COLOUR).y)


def test_every_codec_decodes_to_the_frames_it_was_given(no_swscale, tiny_clip) -> None:
    """At a mid-quality CRF each codec stays within 16 levels on average of the panning clip,
    whose neighbouring frames differ by 33: frames and planes come back in their places."""
    for codec in CODECS.values():
        encoded = codec.encode(tiny_clip, Fraction(24), codec.crf_start, COLOUR)
        assert encoded.rgb.shape == tiny_clip.shape and encoded.bytes > 0
        assert np.abs(encoded.rgb.astype(int) - tiny_clip).mean() < 16, codec.name


def test_crf_search_brackets_the_bpp_range() -> None:
    calls = []

    def bpp_at(crf: int) -> float:  # halves every 6 CRF steps
        calls.append(crf)
        return 2.0 * 2 ** (-crf / 6)

    crfs = span_crfs(bpp_at, X265_MEDIUM, (0.1, 0.5), 5)
    assert bpp_at(crfs[0]) >= 0.5 > bpp_at(crfs[0] + 1)
    assert bpp_at(crfs[-1]) <= 0.1 < bpp_at(crfs[-1] - 1)
    assert len(crfs) == 5 and crfs == sorted(crfs)
    assert span_crfs(bpp_at, X265_MEDIUM, (1e-6, 1e6), 3) == [0, 26, 51]  # clamped to the scale
    assert span_crfs(bpp_at, X265_MEDIUM, (50.0, 60.0), 3) == [0, 1, 2]  # out of reach: widened
    assert span_crfs(bpp_at, X265_MEDIUM, (0.25, 0.26), 4) == [16, 17, 18, 19]  # too narrow
