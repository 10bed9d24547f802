"""The `cfv` command through click's runner and as a real process: outputs and exit codes."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch
from helpers import assert_one_line_error, run

from nvcodec.bitstream.container import SIGNATURE
from nvcodec.encoder import pipeline
from nvcodec.io.video import read_video

TINY = ["--params", "8000", "--epochs", "2"]


def test_encode_info_decode(tiny_mp4: str, tmp_path: Path) -> None:
    output = tmp_path / "tiny.cfv"
    code, stdout, stderr = run(
        "encode", tiny_mp4, output, *TINY, "--precision", "float32", "--batch-size", "500", "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert {"params", "bytes", "bpp", "psnr", "seconds", "device"} <= summary.keys()
    assert summary["precision"] == "float32"
    assert summary["bytes"] == output.stat().st_size
    code, stdout, _ = run("info", output, "--json")
    info = json.loads(stdout)
    assert code == 0 and info["fps"] == "24/1"
    assert info["metadata"]["settings"]["batch_size"] == 500
    assert (info["width"], info["height"], info["frames"]) == (32, 24, 8)
    assert info["params"] == summary["params"] and info["bytes"] == summary["bytes"]
    assert info["bpp"] == pytest.approx(summary["bpp"])
    code, stdout, _ = run("info", output)
    assert code == 0 and "32x24, 8 frames at 24 fps" in stdout
    # Without an output it lands beside the input, named after it with .mp4 added.
    code, stdout, stderr = run("decode", output)
    assert code == 0, stderr
    assert read_video(tmp_path / "tiny.cfv.mp4").frames_u8.shape == (8, 24, 32, 3)
    assert "tiny.cfv.mp4: 32x24, 8 frames (0:8) at 24 fps" in stdout
    assert "on cpu in float32" in stdout
    code, stdout, stderr = run(
        "decode", output, tmp_path / "b.y4m", "--precision", "bfloat16", "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["precision"] == "bfloat16"


@pytest.mark.parametrize(
    ("options", "shape", "fps"),
    [
        (["--scale", "2"], (8, 48, 64, 3), 24),
        (["-s", "40x30"], (8, 30, 40, 3), 24),
        (["-r", "48"], (16, 24, 32, 3), 48),
        (["-r", "30000/1001", "--frames", "2:6"], (4, 24, 32, 3), None),
        (["--frames", "5:6"], (1, 24, 32, 3), 24),
    ],
)
def test_decode_options(tiny_cfv: str, tmp_path: Path, options, shape, fps) -> None:
    output = tmp_path / "out.mkv"
    code, _, stderr = run("decode", tiny_cfv, "-o", output, "--quiet", *options)
    assert code == 0, stderr
    video = read_video(output)
    assert video.frames_u8.shape == shape
    assert fps is None or video.fps == fps


def test_quiet_prints_nothing(tiny_cfv: str, tmp_path: Path) -> None:
    code, stdout, stderr = run("decode", tiny_cfv, "-o", tmp_path / "q.y4m", "--quiet")
    assert (code, stdout, stderr) == (0, "", "")


def _newer_version(data: bytes) -> bytes:
    fields = struct.pack("<HHH", 2, 0, 2)
    return SIGNATURE + fields + struct.pack("<I", zlib.crc32(fields)) + data[22:]


def test_corrupt_truncated_and_newer_files(tiny_cfv: str, tmp_path: Path) -> None:
    data = Path(tiny_cfv).read_bytes()
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x10
    cases = [
        ("damaged.cfv", bytes(damaged), 3, "corrupt .cfv file"),
        ("short.cfv", data[: len(data) // 3], 3, "truncated"),
        ("text.cfv", data.replace(b"\r\n", b"\n"), 3, "text-mode"),
        ("newer.cfv", _newer_version(data), 4, "needs cfv reader version 2"),
    ]
    for name, content, exit_code, message in cases:
        (tmp_path / name).write_bytes(content)
        for command in (["info"], ["decode", "-o", tmp_path / "x.mkv"]):
            assert_one_line_error(*run(*command, tmp_path / name)[::2], exit_code, message)
    assert not (tmp_path / "x.mkv").exists()


def test_error_paths(tiny_mp4: str, tiny_cfv: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    existing = tmp_path / "exists.cfv"
    existing.write_bytes(b"x")
    cases = [
        (["encode", tmp_path / "absent.mp4", tmp_path / "a.cfv"], 1, "no such file"),
        (["encode", notes, tmp_path / "a.cfv"], 1, "not a readable video"),
        (["encode", tiny_mp4, existing], 1, "already exists (use -y"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "-s", "0x10"], 2, "out of range"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--frames", "50:60"], 2, "no frames"),
        (["decode", tiny_cfv, "-o", tmp_path / "a.mkv", "-s", "99999x2"], 2, "out of range"),
        (["decode", tiny_cfv, "-o", tmp_path / "a.mkv", "--frames", "9:"], 2, "no frames"),
        (["decode", tiny_cfv, "-o", tmp_path / "a.mp4", "-s", "17x9"], 1, "even sizes"),
        (["decode", tiny_cfv, "-o", tmp_path / "a.txt"], 1, "unknown output type"),
        (["info", tmp_path / "absent.cfv"], 1, "no such file"),
        (["info", tiny_mp4], 3, "not a .cfv file"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--model-size", "s", "--params", "9"], 2, "only"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--model-size", "xxl"], 2, "--model-size"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--precision", "fp8"], 2, "--precision"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--batch-size", "0"], 2, "--batch-size"),
        (["encode", tiny_mp4, tmp_path / "a.cfv", "--params", "100"], 2, "too few"),
        (["decode", tiny_cfv, "--scale", "2", "-s", "4x4"], 2, "not both"),
        (["decode", tiny_cfv, "-r", "fast"], 2, "not a number"),
        (["decode", tiny_cfv, "--frames", "a:b"], 2, "not a frame range"),
        (["decode", tiny_cfv, "-s", "big"], 2, "not a size"),
        (["transcode", tiny_cfv], 2, "No such command"),
        (["info"], 2, "Missing argument"),
    ]
    if not torch.cuda.is_available():
        cases.append(
            (["encode", tiny_mp4, tmp_path / "a.cfv", "--device", "cuda"], 1, "no CUDA device")
        )
    for args, exit_code, message in cases:
        assert_one_line_error(*run(*args)[::2], exit_code, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.cfv", "notes.mp4"]


def test_ctrl_c_exits_130_and_leaves_nothing(tiny_mp4: str, tmp_path: Path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "fit", interrupt)
    code, _, stderr = run("encode", tiny_mp4, tmp_path / "a.cfv", *TINY)
    assert code == 130 and stderr.splitlines()[-1] == "cfv: interrupted"
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_help_documents_the_exit_codes() -> None:
    code, stdout, _ = run("--help")
    assert code == 0
    for line in ("0    success", "2    usage error", "3    corrupt", "4    the .cfv", "130"):
        assert line in stdout


def test_a_real_process(tiny_mp4: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "nvcodec.cli"]
    output = tmp_path / "real.cfv"
    encoded = subprocess.run(
        [*command, "encode", tiny_mp4, output, *TINY, "--quiet"], capture_output=True, text=True
    )
    assert encoded.returncode == 0 and encoded.stdout == encoded.stderr == "", encoded.stderr
    info = subprocess.run([*command, "info", "--json", output], capture_output=True, text=True)
    assert json.loads(info.stdout)["frames"] == 8
    decoded = subprocess.run(
        [*command, "decode", output, "--scale", "2", "-o", tmp_path / "x2.mkv"],
        capture_output=True,
        text=True,
    )
    assert decoded.returncode == 0, decoded.stderr
    assert read_video(tmp_path / "x2.mkv").frames_u8.shape == (8, 48, 64, 3)
    corrupt = subprocess.run([*command, "info", tiny_mp4], capture_output=True, text=True)
    assert corrupt.returncode == 3 and corrupt.stderr.count("\n") == 1
