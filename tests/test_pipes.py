"""Pipes and streams: y4m and .cfv through stdin and stdout, forced formats, and URLs and
protocols handed to FFmpeg."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nvcodec import api, cli
from nvcodec.errors import VideoError
from nvcodec.io.video import read_video, write_video

CFV = [sys.executable, "-m", "nvcodec.cli"]

# Reads a y4m stream from stdin as a player would and prints "WIDTH HEIGHT FRAMES".
COUNT_Y4M_FRAMES = """
import sys
stream = sys.stdin.buffer
fields = stream.readline().split()
assert fields[0] == b"YUV4MPEG2", fields
tags = {field[:1]: field[1:] for field in fields[1:]}
width, height = int(tags[b"W"]), int(tags[b"H"])
planes = 3 if tags.get(b"C", b"420").startswith(b"444") else 1.5
frames = 0
while header := stream.readline():
    assert header.startswith(b"FRAME"), header
    assert len(stream.read(int(width * height * planes))) == int(width * height * planes)
    frames += 1
print(width, height, frames)
"""


@pytest.mark.parametrize("output", [["-o", "-"], ["-", "-f", "y4m"]])
def test_decode_streams_y4m_to_a_pipe(tiny_cfv: str, output: list[str]) -> None:
    decoder = subprocess.Popen(
        [*CFV, "decode", tiny_cfv, *output, "-s", "40x30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    counted = subprocess.run(
        [sys.executable, "-c", COUNT_Y4M_FRAMES],
        stdin=decoder.stdout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    decoder.stdout.close()
    stderr = decoder.stderr.read()
    decoder.wait(timeout=60)
    assert decoder.returncode == 0, stderr
    assert counted.stdout.split() == ["40", "30", "8"], counted.stderr
    # The summary goes to stderr, out of the stream's way.
    assert b"-: 40x30, 8 frames" in stderr


@pytest.mark.parametrize("output_format", ["mkv", "mp4"])
def test_decode_writes_any_format_to_stdout(tiny_cfv: str, tmp_path: Path, output_format: str):
    decoded = subprocess.run(
        [*CFV, "decode", tiny_cfv, "-", "-f", output_format, "--quiet"], capture_output=True
    )
    assert decoded.returncode == 0, decoded.stderr
    (tmp_path / f"out.{output_format}").write_bytes(decoded.stdout)
    assert read_video(tmp_path / f"out.{output_format}").frames_u8.shape == (8, 24, 32, 3)


def test_a_summary_is_not_mixed_into_stdout(tiny_cfv: str) -> None:
    result = CliRunner().invoke(cli.cli, ["decode", tiny_cfv, "-", "--json"])
    assert result.exit_code == 2 and "--json prints on stdout" in result.stderr


def test_y4m_in_through_stdin_and_cfv_out_through_stdout(
    tiny_clip: np.ndarray, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.y4m"
    write_video(clip, tiny_clip, Fraction(24))
    with clip.open("rb") as stdin:
        encoded = subprocess.run(
            [*CFV, "encode", "-", "-", "--params", "8000", "--epochs", "1", "--quiet"],
            stdin=stdin,
            capture_output=True,
        )
    assert encoded.returncode == 0, encoded.stderr
    info = api.probe(encoded.stdout)
    assert (info.canvas.width, info.canvas.height, info.canvas.num_frames) == (32, 24, 8)
    assert info.canvas.fps == 24
    # The .cfv goes back in through stdin, to cfv info and cfv decode.
    described = subprocess.run(
        [*CFV, "info", "-", "--json"], input=encoded.stdout, capture_output=True
    )
    assert described.returncode == 0 and b'"frames": 8' in described.stdout
    decoded = subprocess.run(
        [*CFV, "decode", "-", tmp_path / "out.mkv", "--quiet"],
        input=encoded.stdout,
        capture_output=True,
    )
    assert decoded.returncode == 0, decoded.stderr
    assert read_video(tmp_path / "out.mkv").num_frames == 8


def test_ffmpeg_protocols_read_stdin(tiny_clip: np.ndarray, tmp_path: Path) -> None:
    clip = tmp_path / "clip.y4m"
    write_video(clip, tiny_clip, Fraction(24))
    read = "from nvcodec.io.video import read_video; print(read_video('pipe:0').num_frames)"
    with clip.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-c", read], stdin=stdin, capture_output=True, text=True
        )
    assert result.stdout.strip() == "8", result.stderr


def test_urls_go_to_ffmpeg_as_they_are(tiny_mkv: str) -> None:
    assert read_video(f"file:{tiny_mkv}").num_frames == 8
    # Nothing listens on port 9: FFmpeg itself says so, about the URL as given.
    with pytest.raises(VideoError, match=r"^http://127\.0\.0\.1:9/clip\.mp4: not a readable"):
        read_video("http://127.0.0.1:9/clip.mp4")
