"""Inputs without a header or deeper than 8 bits: raw YUV (sizes from options or names),
10-bit sources, and PNG sequences numbered from anywhere."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from nvcodec import api, cli
from nvcodec.errors import NvcodecWarning, SettingsError, VideoError
from nvcodec.io.raw import RawFormat, parse_raw_name, raw_format
from nvcodec.io.video import read_video
from nvcodec.metrics import psnr


def write_yuv(path: Path, frames_u8: np.ndarray, pix_fmt: str, muxer: str = "rawvideo") -> None:
    """RGB frames as BT.709 limited-range YUV, headerless (rawvideo) or in a tagged FFV1 file."""
    with av.open(str(path), "w", format=muxer) as out:
        stream = out.add_stream("rawvideo" if muxer == "rawvideo" else "ffv1", rate=25)
        stream.height, stream.width = frames_u8.shape[1:3]
        stream.pix_fmt = pix_fmt
        stream.codec_context.colorspace, stream.codec_context.color_range = 1, 1  # BT.709, limited
        for rgb in frames_u8:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le"])
def test_raw_yuv_from_options(tiny_clip: np.ndarray, tmp_path: Path, pix_fmt: str) -> None:
    path = tmp_path / "clip.yuv"
    write_yuv(path, tiny_clip, pix_fmt)
    layout = raw_format(str(path), (32, 24), pix_fmt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        video = read_video(path, fps=Fraction(50), raw=layout)
    assert video.frames_u8.shape == tiny_clip.shape and video.fps == 50
    if "444" in pix_fmt:
        assert np.abs(video.frames_u8.astype(int) - tiny_clip).max() <= 3
    else:  # half-resolution chroma on a colourful 32 x 24 texture
        assert psnr(tiny_clip, video.frames_u8) > 25
    said = [str(w.message) for w in caught if issubclass(w.category, NvcodecWarning)]
    rounded = f"{path}: 10-bit samples; the model codes 8 bits per channel, so they are rounded"
    assert said == ([f"{rounded} to 8 bits"] if "10" in pix_fmt else [])


def test_raw_yuv_from_its_name(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "Clip_32x24_50fps_444_10bit.yuv"
    write_yuv(path, tiny_clip, "yuv444p10le")
    layout = raw_format(str(path))
    assert layout == RawFormat(32, 24, "yuv444p10le", Fraction(50))
    with pytest.warns(NvcodecWarning, match="10-bit"):
        video = read_video(path, raw=layout)
    assert video.fps == 50 and np.abs(video.frames_u8.astype(int) - tiny_clip).max() <= 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Beauty_1920x1080_120fps_420_8bit_YUV.yuv", RawFormat(1920, 1080, "yuv420p", 120)),
        ("BasketballDrive_1920x1080_50.yuv", RawFormat(1920, 1080, "yuv420p", 50)),
        ("MarketPlace_1920x1080_60fps_10bit_420.yuv", RawFormat(1920, 1080, "yuv420p10le", 60)),
        ("Clip_1920x1080_420_10bit.yuv", RawFormat(1920, 1080, "yuv420p10le", None)),
        ("c_1280x720_29.97fps_444.yuv", RawFormat(1280, 720, "yuv444p", Fraction(2997, 100))),
        ("x_1920x1080_.yuv", RawFormat(1920, 1080, "yuv420p", None)),
        ("clip.yuv", None),
    ],
)
def test_raw_names(name: str, expected: RawFormat | None) -> None:
    assert parse_raw_name(name) == expected


def test_raw_yuv_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clip.yuv"
    path.write_bytes(bytes(32 * 24 * 3 // 2 * 2 + 1))
    with pytest.raises(VideoError, match="is not a whole number of 32x24 yuv420p frames"):
        raw_format(str(path), (32, 24))
    with pytest.raises(SettingsError, match="raw YUV needs its frame size"):
        raw_format(str(path))
    with pytest.raises(SettingsError, match="pixel format 'nv12' is not one of"):
        raw_format(str(path), (32, 24), "nv12")
    assert raw_format(str(tmp_path / "clip.mp4")) is None


def test_encode_raw_10_bit_yuv_from_the_command_line(tiny_clip: np.ndarray, tmp_path: Path):
    path = tmp_path / "clip.yuv"
    write_yuv(path, tiny_clip, "yuv420p10le")
    options = ["--input-res", "32x24", "--pix-fmt", "yuv420p10le", "-r", "50"]
    result = CliRunner().invoke(
        cli.cli,
        ["encode", str(path), str(tmp_path / "clip.cfv"), *options, "--params", "8000"]
        + ["--epochs", "1", "--quiet"],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("cfv: warning: ") and "10-bit samples" in result.stderr
    info = api.probe(tmp_path / "clip.cfv")
    assert (info.canvas.width, info.canvas.height, info.canvas.fps) == (32, 24, 50)


def test_a_10_bit_file_is_rounded_with_a_warning(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "deep.mkv"
    write_yuv(path, tiny_clip, "yuv444p10le", muxer="matroska")
    with pytest.warns(NvcodecWarning, match="10-bit samples; the model codes 8 bits"):
        video = read_video(path)
    assert np.abs(video.frames_u8.astype(int) - tiny_clip).max() <= 3


def test_decoded_png_frames_read_back(tiny_cfv: str, tmp_path: Path) -> None:
    (tmp_path / "frames").mkdir()
    pattern = str(tmp_path / "frames" / "%03d.png")
    api.decode(tiny_cfv, pattern, frames=(5, 8))  # writes 005.png to 007.png
    expected = api.decode(tiny_cfv, frames=(5, 8)).frames_u8
    with pytest.warns(NvcodecWarning, match="no frame rate; taking 25 fps"):
        video = read_video(pattern)
    np.testing.assert_array_equal(video.frames_u8, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_video(pattern, fps=Fraction(24)).fps == 24
    with pytest.raises(VideoError, match="no files match the pattern"):
        read_video(str(tmp_path / "frames" / "f_%03d.png"))
