"""The prepared GPU check: its dry run (the same steps at toy sizes on the CPU, so the check
cannot rot between GPU sessions) and every JSON file it writes; its budget, its refusals and
how it judges the targets."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools import device_check
from tools.device_check import DRY, RESULT_FILES, SCHEMA, STEP_NAMES, StepError

ROOT = Path(__file__).resolve().parents[1]
SPEED_SCHEMA = "nvcodec-speed/1"
RETURNED_FILES = 8
"""The most files the device machine hands back from its output folder."""


def check(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tools.device_check", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("device") / "out"
    return check("--dry-run", "--out", str(out)), out


def load(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


@pytest.mark.slow
def test_the_dry_run_passes_every_step_and_returns_few_files(dry_run) -> None:
    done, out = dry_run
    assert done.returncode == 0, done.stdout[-4000:]
    summary = load(out, "summary")
    assert [step["name"] for step in summary["steps"]] == list(STEP_NAMES)
    assert {step["status"] for step in summary["steps"]} == {"ok"}
    assert summary["seconds"] <= DRY.budget_s
    names = sorted(path.name for path in out.iterdir())
    assert names == sorted([*(f"{name}.json" for name in RESULT_FILES), "bunny.cfv", "log.txt"])
    assert len(names) <= RETURNED_FILES


@pytest.mark.slow
def test_every_result_file_of_the_dry_run_is_complete(dry_run) -> None:
    _, out = dry_run
    for name in RESULT_FILES:
        payload = load(out, name)
        if name == "speed":
            assert payload["schema"] == SPEED_SCHEMA
            continue
        assert payload["schema"] == SCHEMA and payload["step"] == name and payload["dry_run"]
        assert payload["environment"]["python"] and "error" not in payload

    install = load(out, "install")
    assert all(install["present"].values()) and install["installed"] == {}

    device = load(out, "device")
    assert device["environment"]["device"] == "cpu" and device["gpus"] == []
    assert device["torch"] == device["environment"]["torch"]

    tests = load(out, "tests")
    assert tests["device"] == "cpu" and tests["returncode"] == 0
    assert tests["passed"] == len(tests["cases"]) > 0 and tests["failed"] == tests["skipped"] == 0

    speed = load(out, "speed")
    assert set(speed["ceiling_gflops"]) == {"float32", "bfloat16"}
    assert [(row["preset"], row["precision"]) for row in speed["fit"]] == [
        (preset, precision) for preset in DRY.presets for precision in ("float32", "bfloat16")
    ]
    assert [row["size"] for row in speed["render"]] == list(DRY.render_sizes)
    rows = speed["fit"] + speed["render"]
    assert all(row["gflops"] > 0 and row["fraction_of_ceiling"] > 0 for row in rows)
    assert speed["environment"]["device"] == "cpu" and speed["encode"] == []

    bunny = load(out, "bunny")
    width, height = DRY.clip_size
    assert bunny["status"] == "done" and bunny["history"]
    assert (bunny["clip"]["width"], bunny["clip"]["height"]) == (width, height)
    encoded = bunny["encode"]
    assert encoded["bpp"] > 0 and encoded["psnr"] > 10 and encoded["device"] == "cpu"
    assert bunny["decode"]["psnr"] == pytest.approx(encoded["psnr"], abs=1e-6)
    # Both decodes ran on the CPU here, one of the whole clip and one of its first frames: the
    # flow nets then run on batches of different sizes, so a sample may round the other way
    # (rendering is normative up to floating-point rounding, spec section 9).
    check = bunny["cpu_check"]
    assert check["within_tolerance"] and check["max_abs"] <= 1
    assert check["psnr"] == "inf" or check["psnr"] >= 50

    summary = load(out, "summary")
    assert [row["status"] for row in summary["targets"]] == ["not yet measured"] * 3


def test_a_budget_too_small_skips_every_step(tmp_path: Path) -> None:
    done = check("--dry-run", "--budget-s", "1", "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    steps = load(tmp_path / "out", "summary")["steps"]
    assert [step["status"] for step in steps] == ["skipped"] * len(STEP_NAMES)
    assert all("budget" in step["reason"] for step in steps)


def test_a_used_output_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = check("--dry-run", "--out", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "not an empty folder" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_missing_clip_is_a_one_line_error(tmp_path: Path) -> None:
    done = check("--dry-run", "--clip", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "no such file" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


def test_missing_packages_without_wheels_are_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(device_check, "REQUIREMENTS", ("numpy", "no-such-distribution"))
    options = argparse.Namespace(wheels=tmp_path)
    with pytest.raises(StepError, match="no-such-distribution missing and no wheels") as error:
        device_check.install_step(options, DRY)
    assert error.value.partial["present"]["numpy"]


def write(folder: Path, name: str, payload: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps(payload))


def test_targets_are_judged_from_the_results(tmp_path: Path) -> None:
    write(
        tmp_path,
        "speed",
        {
            "fit": [
                {"preset": "s", "precision": "float32", "fraction_of_ceiling": 0.9},
                {"preset": "s", "precision": "bfloat16", "fraction_of_ceiling": 0.41},
            ],
            "render": [{"preset": "s", "size": "720p", "fps": 59.9}],
        },
    )
    write(
        tmp_path,
        "bunny",
        {
            "clip": {"width": 1280, "height": 720, "frames": 132},
            "settings": {"minutes": 3.0},
            "encode": {"psnr": 35.5, "bpp": 0.2},
        },
    )
    rows = device_check.targets(tmp_path)
    assert [row["status"] for row in rows] == ["met", "not met", "not reached in the time run"]
    assert rows[0]["measured"] == "41.0%" and rows[1]["measured"] == "59.9 fps"
    write(tmp_path, "bunny", {"clip": {"width": 64, "height": 36, "frames": 4}, "encode": {}})
    assert device_check.targets(tmp_path)[2]["status"] == "not yet measured"
    assert [row["status"] for row in device_check.targets(tmp_path / "none")] == [
        "not yet measured"
    ] * 3


def test_junit_reports_become_one_row_per_test(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite><testcase classname="tests.test_cuda" name="test_a" time="1.5"/>'
        '<testcase classname="tests.test_cuda" name="test_b" time="0.1">'
        '<failure message="assert 1 == 2&#10;more">trace</failure></testcase>'
        '<testcase classname="tests.test_cuda" name="test_c" time="0">'
        '<skipped message="needs a CUDA device"/></testcase></testsuite></testsuites>'
    )
    cases = device_check.junit_cases(report)
    assert [(case["outcome"], case["message"]) for case in cases] == [
        ("passed", None),
        ("failed", "assert 1 == 2"),
        ("skipped", "needs a CUDA device"),
    ]
    assert cases[0] == {
        "name": "tests.test_cuda::test_a",
        "outcome": "passed",
        "seconds": 1.5,
        "message": None,
    }
