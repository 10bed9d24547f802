"""Colour on outputs: YUV made with the matrix the tags name (BT.709 for .cfv renders), and
streams that carry those tags, read back through PyAV as a player would."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nvcodec import api
from nvcodec.io.video import CFV_COLOUR, read_video, write_video, yuv_matrix

COLOURS = [(200, 50, 30), (30, 180, 60), (40, 60, 220), (128, 128, 128)]


@pytest.fixture(scope="module")
def blocks() -> np.ndarray:
    """Two 64 x 48 frames of four flat, mostly saturated colours, one per 32 x 24 quadrant."""
    frame = np.zeros((48, 64, 3), np.uint8)
    for index, colour in enumerate(COLOURS):
        row, column = divmod(index, 2)
        frame[24 * row : 24 * row + 24, 32 * column : 32 * column + 32] = colour
    return np.stack([frame, frame])


def interiors(frame: np.ndarray) -> np.ndarray:
    """The quadrants without 8 pixels at their edges, where 4:2:0 chroma and H.264's
    transforms blend colours."""
    return np.stack(
        [frame[8:16, 8:24], frame[8:16, 40:56], frame[32:40, 8:24], frame[32:40, 40:56]]
    )


def first_frame(path: Path) -> tuple[av.VideoFrame, av.video.codeccontext.VideoCodecContext]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return next(container.decode(stream)), stream.codec_context


def worst_error(rgb: np.ndarray, reference: np.ndarray) -> int:
    return int(np.abs(interiors(rgb).astype(int) - interiors(reference)).max())


def test_h264_is_bt709_and_tagged(blocks: np.ndarray, tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", blocks, Fraction(25))
    frame, context = first_frame(tmp_path / "clip.mp4")
    tags = (context.colorspace, context.color_range, context.color_primaries, context.color_trc)
    assert tags == (1, 1, 1, 13)  # BT.709 matrix, limited range, BT.709 primaries, sRGB
    assert (frame.colorspace, frame.color_range) == (1, 1)  # also in the H.264 stream itself
    # A player that honours the tags sees the colours; one that takes BT.601 does not.
    assert worst_error(frame.reformat(format="rgb24").to_ndarray(), blocks[0]) <= 3
    as_bt601 = frame.reformat(format="rgb24", src_colorspace="ITU601").to_ndarray()
    assert worst_error(as_bt601, blocks[0]) >= 10
    assert worst_error(read_video(tmp_path / "clip.mp4").frames_u8[0], blocks[0]) <= 3


def test_y4m_reads_back_as_written(blocks: np.ndarray, tmp_path: Path) -> None:
    # y4m has no field for the matrix (only XCOLORRANGE): cfv writes it and reads it as BT.709.
    write_video(tmp_path / "clip.y4m", blocks, Fraction(25))
    assert b" XCOLORRANGE=LIMITED\n" in (tmp_path / "clip.y4m").read_bytes()[:80]
    assert worst_error(read_video(tmp_path / "clip.y4m").frames_u8[0], blocks[0]) <= 1
    frame, _ = first_frame(tmp_path / "clip.y4m")
    assert worst_error(frame.reformat(format="rgb24").to_ndarray(), blocks[0]) >= 10  # BT.601


@pytest.mark.parametrize(("name", "lossless"), [("clip.mkv", False), ("clip.mp4", True)])
def test_rgb_outputs_are_tagged_rgb(blocks: np.ndarray, tmp_path: Path, name: str, lossless):
    write_video(tmp_path / name, blocks, Fraction(25), lossless=lossless)
    frame, context = first_frame(tmp_path / name)
    tags = (context.colorspace, context.color_range, context.color_primaries, context.color_trc)
    assert tags == (0, 2, 1, 13)  # RGB, full range, BT.709 primaries, sRGB
    np.testing.assert_array_equal(read_video(tmp_path / name).frames_u8, blocks)


def test_png_says_srgb(blocks: np.ndarray, tmp_path: Path) -> None:
    write_video(tmp_path / "f_%d.png", blocks, Fraction(25))
    assert b"sRGB" in (tmp_path / "f_0.png").read_bytes()


def test_decode_passes_the_files_colour_on(tiny_cfv: str, tmp_path: Path) -> None:
    api.decode(tiny_cfv, tmp_path / "out.mp4", frames=(0, 1))
    _, context = first_frame(tmp_path / "out.mp4")
    assert (context.colorspace, context.color_primaries, context.color_trc) == (1, 1, 13)
    assert api.probe(tiny_cfv).colour == CFV_COLOUR


@pytest.mark.parametrize(
    ("primaries", "matrix", "expected"),
    [(1, 0, 1), (5, 0, 5), (6, 0, 6), (9, 0, 9), (2, 0, 1), (1, 6, 6), (9, 1, 1)],
)
def test_the_yuv_matrix_follows_the_file(primaries: int, matrix: int, expected: int) -> None:
    colour = {**CFV_COLOUR, "colour_primaries": primaries, "matrix_coefficients": matrix}
    assert yuv_matrix(colour) == expected
