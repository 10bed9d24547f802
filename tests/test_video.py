from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvcodec.errors import SettingsError, VideoError
from nvcodec.io.video import read_video, write_video
from nvcodec.metrics import psnr


@pytest.mark.parametrize("name", ["clip.mkv", "clip.mp4", "frames/f_%03d.png"])
def test_lossless_round_trip(tmp_path: Path, tiny_clip: np.ndarray, name: str) -> None:
    path = tmp_path / name
    write_video(path, tiny_clip, Fraction(30000, 1001), lossless=True)
    # A PNG sequence carries no frame rate: it is given, as `-r` gives it on the command line.
    video = read_video(path, fps=Fraction(30000, 1001) if "%" in name else None)
    np.testing.assert_array_equal(video.frames_u8, tiny_clip)
    assert video.fps == Fraction(30000, 1001)


def test_y4m_is_near_lossless(tmp_path: Path, tiny_clip: np.ndarray) -> None:
    write_video(tmp_path / "clip.y4m", tiny_clip, Fraction(25))
    video = read_video(tmp_path / "clip.y4m")
    assert video.fps == 25
    assert np.abs(video.frames_u8.astype(int) - tiny_clip).max() <= 3


def test_lossy_mp4_is_close(tmp_path: Path, tiny_clip: np.ndarray) -> None:
    write_video(tmp_path / "clip.mp4", tiny_clip, Fraction(25))
    # 4:2:0 chroma on a 32 x 24 colourful texture costs most of the loss here.
    assert psnr(tiny_clip, read_video(tmp_path / "clip.mp4").frames_u8) > 25


def test_range_and_resize(tiny_mkv: str, tiny_clip: np.ndarray) -> None:
    video = read_video(tiny_mkv, start=2, stop=5, size=(16, 12))
    assert video.frames_u8.shape == (3, 12, 16, 3)
    # The area filter averages 2 x 2 blocks.
    expected = tiny_clip[2:5].reshape(3, 12, 2, 16, 2, 3).astype(float).mean(axis=(2, 4))
    assert np.abs(video.frames_u8 - expected).mean() < 2.0


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    count=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_mkv_round_trip_any_size(tmp_path: Path, width: int, height: int, count: int, seed: int):
    frames = np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), np.uint8)
    path = tmp_path / f"any_{width}x{height}x{count}.mkv"
    write_video(path, frames, Fraction(24))
    np.testing.assert_array_equal(read_video(path).frames_u8, frames)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        read_video(tmp_path / "absent.mp4")


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n")
    with pytest.raises(VideoError, match="not a readable video"):
        read_video(path)


def test_range_past_the_end(tiny_mkv: str) -> None:
    with pytest.raises(SettingsError, match="no frames"):
        read_video(tiny_mkv, start=100)


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (100000, 10)])
def test_absurd_size(tiny_mkv: str, size: tuple[int, int]) -> None:
    with pytest.raises(SettingsError, match="out of range"):
        read_video(tiny_mkv, size=size)


def test_unknown_output_suffix(tmp_path: Path, tiny_clip: np.ndarray) -> None:
    with pytest.raises(VideoError, match="unknown output type"):
        write_video(tmp_path / "clip.xyz", tiny_clip, Fraction(25))


def test_odd_size_lossy_mp4_is_refused(tmp_path: Path) -> None:
    frames = np.zeros((2, 9, 9, 3), np.uint8)
    with pytest.raises(VideoError, match="even sizes"):
        write_video(tmp_path / "odd.mp4", frames, Fraction(25))
