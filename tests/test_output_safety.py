"""Outputs: nothing the user did not name is replaced, links, pipes and devices are written
through, an unwritable output fails before any work, and signals leave nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nvcodec import api, cli
from nvcodec.io.video import read_video

CFV = [sys.executable, "-m", "nvcodec.cli"]


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stderr


def test_an_unnamed_output_never_replaces_the_source(
    tiny_mp4: str, tiny_cfv: str, tmp_path: Path
) -> None:
    # The README's naming: clip.mp4 encoded to clip.cfv, then decoded without an output.
    source = tmp_path / "clip.mp4"
    shutil.copy(tiny_mp4, source)
    shutil.copy(tiny_cfv, tmp_path / "clip.cfv")
    original = source.read_bytes()
    code, stderr = run("decode", tmp_path / "clip.cfv", "--quiet")
    assert code == 0, stderr
    assert read_video(tmp_path / "clip.cfv.mp4").num_frames == 8
    rendered = (tmp_path / "clip.cfv.mp4").read_bytes()
    # -y overwrites only what the user named: the unnamed output is refused, not replaced.
    code, stderr = run("decode", tmp_path / "clip.cfv", "-y")
    assert code == 1 and "clip.cfv.mp4: already exists; name the output" in stderr
    assert source.read_bytes() == original
    assert (tmp_path / "clip.cfv.mp4").read_bytes() == rendered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.cfv", "clip.cfv.mp4", "clip.mp4"]


def test_the_output_is_named_once(tiny_cfv: str, tmp_path: Path) -> None:
    code, stderr = run("decode", tiny_cfv, tmp_path / "positional.mkv", "--quiet")
    assert code == 0, stderr
    assert read_video(tmp_path / "positional.mkv").num_frames == 8
    code, stderr = run("decode", tiny_cfv, tmp_path / "a.mkv", "-o", tmp_path / "b.mkv")
    assert code == 2 and "give the output once" in stderr
    code, stderr = run("decode", "-")
    assert code == 2 and "name the output" in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["positional.mkv"]


def test_an_output_that_is_the_input_is_refused(tiny_mkv: str, tiny_cfv: str, tmp_path: Path):
    clip, model = tmp_path / "clip.mkv", tmp_path / "clip.cfv"
    shutil.copy(tiny_mkv, clip)
    shutil.copy(tiny_cfv, model)
    for args in (["encode", clip, clip], ["decode", model, model, "-f", "mkv"]):
        code, stderr = run(*args, "-y")
        assert code == 1 and "is the input; name another output" in stderr
    assert clip.read_bytes() == Path(tiny_mkv).read_bytes()
    assert model.read_bytes() == Path(tiny_cfv).read_bytes()


def test_unwritable_outputs_fail_before_any_work(tmp_path: Path) -> None:
    # The inputs do not exist: an error about the output shows it was checked first.
    absent_video, absent_cfv = tmp_path / "absent.mp4", tmp_path / "absent.cfv"
    cases = [
        (["encode", absent_video, "/dev/null/x.cfv"], "/dev/null/x.cfv: cannot write here"),
        (
            ["encode", absent_video, tmp_path / "no" / "x.cfv"],
            "x.cfv: cannot write here (no folder",
        ),
        (["decode", absent_cfv, "/dev/null/x.mkv"], "/dev/null/x.mkv: cannot write here"),
        (["decode", absent_cfv, tmp_path / "no" / "%03d.png"], "%03d.png: cannot write here"),
        (["decode", absent_cfv, tmp_path / "x.txt"], "unknown output type"),
    ]
    if os.geteuid() != 0:  # permissions do not bind root
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases.append((["encode", absent_video, locked / "x.cfv"], "Permission denied"))
    for args, message in cases:
        code, stderr = run(*args)
        assert code == 1 and message in stderr, stderr
        assert stderr.count("\n") == 1 and "absent" not in stderr
    assert [p.name for p in tmp_path.rglob("*")] == (["locked"] if os.geteuid() != 0 else [])


def test_a_symbolic_link_is_written_through(tiny_cfv: str, tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "clip.mkv"
    target.write_bytes(b"old")
    link = tmp_path / "clip.mkv"
    link.symlink_to(target)
    api.decode(tiny_cfv, link, overwrite=True)
    assert link.is_symlink() and read_video(target).num_frames == 8
    dangling = tmp_path / "new.mkv"
    dangling.symlink_to(tmp_path / "store" / "new.mkv")
    api.decode(tiny_cfv, dangling)
    assert dangling.is_symlink() and read_video(tmp_path / "store" / "new.mkv").num_frames == 8
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "clip.mkv",
        "clip.mkv",
        "new.mkv",
        "new.mkv",
        "store",
    ]


def test_a_device_is_written_through(tiny_cfv: str) -> None:
    for output_format in ("mkv", None):  # a stream without a suffix gets y4m
        summary = api.decode(tiny_cfv, "/dev/null", format=output_format)
        assert summary.frames == 8
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_named_pipe_receives_the_stream(tiny_cfv: str, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.y4m"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        decoded = subprocess.run(
            [*CFV, "decode", tiny_cfv, fifo, "-y", "--quiet"], capture_output=True, timeout=300
        )
        received, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert decoded.returncode == 0, decoded.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received.startswith(b"YUV4MPEG2 W32 H24 F24:1") and received.count(b"FRAME\n") == 8


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_decode_leaves_nothing(tiny_cfv: str, tmp_path: Path, signal_number):
    # Thousands of frames: the signal lands while the video is being written.
    process = subprocess.Popen(
        [*CFV, "decode", tiny_cfv, tmp_path / "out.mp4", "-s", "320x240", "-r", "2400", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not any(p.name.endswith(".part.mp4") for p in tmp_path.iterdir()):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal_number)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signal_number
    assert stderr.strip() == f"cfv: interrupted by {signal.Signals(signal_number).name}"
    assert list(tmp_path.iterdir()) == []
