"""How `cfv` starts and answers, as a real process: no torch for help and usage errors, the
versions, Ctrl-C during start-up, other tools' option spellings, renamed options, --threads."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import av
import pytest
import torch

from nvcodec.bitstream.cfv import VERSION

TINY = ["--params", "8000", "--epochs", "2"]

REPORT_TORCH = """
import sys
from nvcodec.cli import main
sys.argv = ["cfv", *sys.argv[1:]]
try:
    main()
finally:
    print("torch imported" if "torch" in sys.modules else "no torch", file=sys.stderr)
"""

INTERRUPT_AT_TORCH = """
import signal, sys, threading

class InterruptAtTorch:
    # A real SIGINT, delivered when the command first imports torch: Ctrl-C during start-up.
    # Sent to this thread, so that it arrives before the import goes on (a signal sent to the
    # process may be taken by another of its threads, and seen only later).
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        return None

# A shell that starts a job in the background without job control has it ignore SIGINT, and
# Python then keeps ignoring it: restore the handler a terminal's process starts with.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.meta_path.insert(0, InterruptAtTorch())
from nvcodec.cli import main
sys.argv = ["cfv", *sys.argv[1:]]
main()
"""


def cfv(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nvcodec", *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd)


def script(source: str, *args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", source, *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["encode", "--help"],
        ["decode", "-h"],
        ["info", "--help"],
        ["encode", "in.mp4", "out.cfv", "--frames", "5"],
        ["decode", "in.cfv", "--device", "gpu"],
        ["encode", "in.mp4", "out.cfv", "-ss", "2"],
        ["--version"],
    ],
)
def test_help_and_usage_errors_do_not_import_torch(args: list[str]) -> None:
    done = script(REPORT_TORCH, *args)
    assert done.stderr.splitlines()[-1] == "no torch", done.stderr


def test_info_does_not_import_torch(tiny_cfv: str) -> None:
    done = script(REPORT_TORCH, "info", tiny_cfv)
    assert "8 frames at 24 fps" in done.stdout
    assert done.stderr.splitlines()[-1] == "no torch", done.stderr


def test_version_names_the_format_and_the_libraries() -> None:
    done = cfv("--version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"cfv {version('nvcodec')}"
    assert f"writes {VERSION.major}.{VERSION.minor}, reads {VERSION.major}.0 to" in lines[1]
    cuda = "no CUDA device" if not torch.cuda.is_available() else f"CUDA {torch.version.cuda}"
    assert lines[2].startswith(f"torch {torch.__version__} ({cuda}")
    assert lines[3].startswith(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}")


def test_python_m_nvcodec_is_cfv() -> None:
    as_module = cfv("--help")
    as_cli = subprocess.run(
        [sys.executable, "-m", "nvcodec.cli", "--help"], capture_output=True, text=True
    )
    assert as_module.returncode == 0 and as_module.stdout.startswith("Usage: cfv ")
    assert as_module.stdout == as_cli.stdout


@pytest.mark.parametrize("args", [["encode", "{mp4}", "{out}"]])
def test_ctrl_c_during_start_up_is_one_line(args: list[str], tiny_mp4: str, tmp_path: Path) -> None:
    out = tmp_path / "out.cfv"
    done = script(INTERRUPT_AT_TORCH, *(a.format(mp4=tiny_mp4, out=out) for a in args))
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "cfv: interrupted"
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "in.mp4", "o.cfv", "-ss", "2"], "no option -ss; select frames with --frames"),
        (["decode", "in.cfv", "-t", "3"], "no option -t; select frames"),
        (["encode", "in.mp4", "o.cfv", "--crf", "20"], "no option --crf; the rate follows the"),
        (["encode", "in.mp4", "o.cfv", "--qp=30"], "--bpp X (bits per pixel), --params N"),
        (["encode", "in.mp4", "o.cfv", "-q", "20"], "-q 20: -q is --quiet in cfv"),
        (["encode", "in.mp4", "o.cfv", "-frames:v", "9"], "use --frames 0:N for the first N"),
        (["decode", "in.cfv", "--frames", "5"], "use --frames 0:5 for 5 frames, 5:6 for frame 5"),
        (["decode", "in.cfv", "--device", "cuda:x"], "use auto, cpu, cuda or cuda:N"),
        (["encode", "in.mp4", "o.cfv", "--preset", "xs", "--model-size", "s"], "--model-size only"),
        # The same kind of mistake gets the same exit code (usage: 2).
        (["decode", "in.cfv", "-s", "0x0"], "out of range"),
        (["decode", "in.cfv", "-s", "-1x36"], "out of range"),
        (["decode", "in.cfv", "--frames", "5:3"], "is empty"),
        (["decode", "in.cfv", "--frames", "-5:3"], "start at 0"),
        (["decode", "in.cfv", "--scale", "0"], "--scale"),
    ],
)
def test_usage_mistakes_exit_2_with_a_hint(args: list[str], message: str) -> None:
    done = cfv(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("cfv: "), done.stderr
    assert message in done.stderr


def test_sizes_the_input_cannot_give_are_usage_mistakes(tiny_cfv: str, tmp_path: Path) -> None:
    for args in (["--scale", "1e6"], ["--frames", "50:60"]):
        done = cfv("decode", tiny_cfv, "-o", tmp_path / "x.mkv", *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_device_index_is_checked_by_the_runtime(tiny_cfv: str, tmp_path: Path) -> None:
    beyond = torch.cuda.device_count()
    done = cfv("decode", tiny_cfv, "-o", tmp_path / "x.mkv", "--device", f"cuda:{beyond}")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "no CUDA device" in done.stderr


def test_old_spellings_work_with_a_notice(tiny_mp4: str, tiny_cfv: str, tmp_path: Path) -> None:
    decoded = cfv("decode", tiny_cfv, "-o", tmp_path / "q.y4m", "-q")
    assert decoded.returncode == 0 and decoded.stdout == "", decoded.stderr
    assert decoded.stderr == (
        "cfv: notice: -q is now --quiet (to ffmpeg and x264 users -q sets the quality)\n"
    )
    # The old spelling's value reaches the new option: here it meets --params, as --model-size.
    encoded = cfv("encode", tiny_mp4, tmp_path / "xs.cfv", "--preset", "xs", "--params", "9")
    assert encoded.returncode == 2
    assert encoded.stderr.splitlines() == [
        "cfv: notice: --preset is now --model-size (to x264 and x265 users a preset is a speed)",
        "cfv: give only one of --model-size, --params and --bpp",
    ]


def test_threads_set_the_process_and_stay_out_of_the_file(tiny_mp4: str, tmp_path: Path) -> None:
    output = tmp_path / "t.cfv"
    encoded = cfv("encode", tiny_mp4, output, *TINY, "--threads", "1", "--json")
    assert encoded.returncode == 0, encoded.stderr
    assert json.loads(encoded.stdout)["threads"] == 1
    info = cfv("info", output, "--json")
    assert "threads" not in info.stdout
    decoded = cfv("decode", output, "-o", tmp_path / "t.mkv", "--threads", "1", "--json")
    assert decoded.returncode == 0, decoded.stderr
    assert json.loads(decoded.stdout)["threads"] == 1
