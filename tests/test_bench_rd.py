"""`cfv bench`: the result schema (and the first schema's files), a tiny real run through the
installed command, resume, one-line errors, and the README section built from a result."""

from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from nvcodec import api
from nvcodec.bench import command, rd
from nvcodec.bench.metrics import METRICS
from nvcodec.bench.plot import rate_ticks
from nvcodec.bench.report import markdown, markdown_table
from nvcodec.bench.schema import (
    SCHEMA,
    BdEntry,
    Clip,
    Curve,
    Point,
    RdResult,
    dumps,
    read_result,
    write_result,
)
from nvcodec.errors import FileError, SettingsError

ROOT = Path(__file__).resolve().parents[1]
V1_RESULT = ROOT / "tools" / "results" / "rd_bunny_320x180_v1.json"
CFV = [sys.executable, "-m", "nvcodec.cli"]


def _tiny_run(clip: str) -> list[str]:
    """Two small MLP nvcodec points of one epoch each."""
    return [clip, "--params", "4000,12000", "--epochs", "1", "--model", "mlp"]


def _point(frames: int, **metrics) -> Point:
    values = {
        "psnr_rgb": 35.0,
        "psnr_y": math.inf,
        "psnr_u": 40.0,
        "psnr_v": 41.0,
        "psnr_yuv": math.inf,
        "ms_ssim": None,
        **metrics,
    }
    return Point(
        setting={"crf": 30},
        info={},
        bytes=1000,
        bpp=0.5,
        **values,
        per_frame={name: [value] * frames for name, value in values.items()},
        encode_seconds=1.0,
        decode_seconds=0.1,
    )


def _result(frames: int = 3) -> RdResult:
    point = _point(frames)
    missing = BdEntry(
        "nvcodec",
        "x265 medium",
        "psnr_rgb",
        "pchip",
        None,
        None,
        None,
        None,
        "anchor: 1 points; this method needs 2",
    )
    return RdResult(
        command="cfv bench clip.mp4",
        environment={"device": "cpu", "cpu": "a CPU", "threads": 2, "torch": "2.13.0"},
        colour="BT.709 limited range, 8 bits",
        anchor="x265 medium",
        clip=Clip(path="clip.mp4", frames=[0, frames], size=[32, 24], fps="25/1", resized=False),
        curves=[
            Curve("nvcodec", "measured", {"epochs": 2.0}, [replace(point, setting={})]),
            Curve("x265 medium", "measured", {"preset": "medium"}, [point]),
        ],
        bd=[missing],
        notes=["a note"],
    )


def test_schema_round_trip_writes_infinity_as_a_string(tmp_path) -> None:
    result = _result()
    write_result(result, tmp_path / "r.json")
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["schema"] == SCHEMA
    assert written["curves"][1]["points"][0]["psnr_y"] == "inf"
    assert written["curves"][1]["points"][0]["ms_ssim"] is None  # not measured
    assert read_result(tmp_path / "r.json") == result
    text = markdown(result)
    assert "| x265 medium | crf 30 | 1,000 | 0.5000 | 35.00 | inf | 40.00 |" in text
    assert "nvcodec against x265 medium, psnr_rgb: no BD numbers (anchor: 1 points" in text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("schema"), "'schema' is not"),
        (lambda d: d["clip"].pop("fps"), "result.clip lacks ['fps']"),
        (lambda d: d["curves"][1]["points"][0].update(colour=1), "unknown keys ['colour']"),
        (lambda d: d["curves"][1]["points"][0].update(bytes="1000"), "bytes is str, not int"),
        (lambda d: d["curves"][1]["points"][0].update(bpp=True), "bpp is bool, not float"),
        (lambda d: d["curves"][1].update(points={}), "points is not a list"),
        (lambda d: d["curves"][1]["points"][0]["per_frame"]["psnr_y"].pop(), "not 3 long"),
        (lambda d: d["curves"][1]["points"][0]["per_frame"].update(vmaf=[]), "unknown metrics"),
        (lambda d: d.update(curves=[]), "no curves"),
    ],
)
def test_reader_rejects_bad_files(tmp_path, edit, message: str) -> None:
    path = tmp_path / "r.json"
    write_result(_result(), path)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(FileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_result(path)


def test_reader_rejects_missing_and_non_json_files(tmp_path) -> None:
    with pytest.raises(FileError, match="no such file"):
        read_result(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FileError, match="not a JSON file"):
        read_result(tmp_path / "bad.json")


def test_the_committed_first_schema_file_reads_as_the_second() -> None:
    raw = json.loads(V1_RESULT.read_text())
    result = read_result(V1_RESULT)
    nvcodec = result.curve("nvcodec")
    first = raw["curves"][0]["points"][0]
    assert nvcodec.points[0].psnr_rgb == first["psnr_rgb"]
    assert nvcodec.points[0].info["psnr_luma_bt709_of_rgb"] == first["psnr_y"]
    assert nvcodec.points[0].psnr_y is None and nvcodec.points[0].ms_ssim is None
    assert len(nvcodec.points[0].per_frame["psnr_rgb"]) == 132
    assert "swscale" in result.colour


def test_rate_ticks_are_readable_at_1_2_5_steps() -> None:
    assert rate_ticks(0.015, 0.16) == [0.01, 0.02, 0.05, 0.1, 0.2]
    assert rate_ticks(0.05, 0.1) == [0.05, 0.1]


def test_markdown_table_aligns_each_column_as_told() -> None:
    lines = markdown_table(["codec", "bpp"], [["x265", "0.5"], ["nvcodec", "0.25"]], "lr")
    assert lines == ["| codec | bpp |", "| --- | ---: |", "| x265 | 0.5 |", "| nvcodec | 0.25 |"]
    with pytest.raises(ValueError, match="one 'l' or 'r' per column"):
        markdown_table(["codec", "bpp"], [], "l")


@pytest.mark.slow
def test_tiny_run_through_the_installed_command(tiny_mkv: str, tmp_path) -> None:
    """Two nvcodec points and two CRFs of two classic codecs on the 32x24x8 clip; JSON,
    markdown, plot and CompressAI files."""
    out = tmp_path / "rd.json"
    args = [
        *_tiny_run(tiny_mkv),
        "--crf-points",
        "2",
        "--codecs",
        "x265-medium,x265-medium-rgb",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--compressai",
        str(tmp_path / "compressai"),
    ]
    run = subprocess.run([*CFV, "bench", *args], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "bench: 32x24, 8 frames; nvcodec: 2 fits of 1 epochs" in run.stderr
    result = read_result(out)
    assert [c.codec for c in result.curves] == ["nvcodec", "x265 medium", "x265 medium RGB"]
    for point in result.curve("nvcodec").points:  # the file decodes to what the encoder measured
        assert point.psnr_rgb == pytest.approx(point.info["encoder_psnr"], abs=1e-6)
    for curve in result.curves:
        assert len(curve.points) == 2
        for point in curve.points:
            assert point.bpp == pytest.approx(8 * point.bytes / (32 * 24 * 8))
            assert point.psnr_yuv == pytest.approx(
                (6 * point.psnr_y + point.psnr_u + point.psnr_v) / 8
            )
            assert len(point.per_frame["psnr_y"]) == 8 and point.psnr_rgb > 10
            assert point.ms_ssim is None  # 24 pixels high: too small for MS-SSIM's scales
    pchip = result.bd_of("nvcodec", "x265 medium", "psnr_rgb", "pchip")
    assert pchip.reason is None or "overlap" in pchip.reason or "rise" in pchip.reason
    assert "needs 4" in result.bd_of("nvcodec", "x265 medium", "psnr_rgb", "cubic").reason
    assert result.command.startswith("cfv bench ")
    assert out.with_suffix(".md").read_text() == run.stdout
    assert out.with_suffix(".png").stat().st_size > 0
    exported = json.loads((tmp_path / "compressai" / "nvcodec.json").read_text())
    assert exported["name"] == "nvcodec"
    assert set(exported["results"]) >= {"bpp", "psnr-rgb", "psnr-yuv"}
    assert exported["results"]["bpp"] == sorted(p.bpp for p in result.curve("nvcodec").points)
    again = subprocess.run([*CFV, "bench", *args], capture_output=True, text=True)
    assert again.returncode == 1 and "already exists" in again.stderr  # outputs are kept


class Stopped(Exception):
    """Stands for a crash, a kill or Ctrl-C in the middle of a fit."""


def test_a_stopped_run_resumes_without_refitting(tiny_mkv: str, tmp_path, monkeypatch) -> None:
    encode = api.encode
    calls: list[dict] = []

    def stopping_encode(*args, **kwargs):
        if calls:
            raise Stopped  # the run dies during the second fit
        calls.append(kwargs)
        return encode(*args, **kwargs)

    out, work = tmp_path / "rd.json", tmp_path / "rd.work"
    args = [
        *_tiny_run(tiny_mkv),
        "--codecs",
        "",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    monkeypatch.setattr(api, "encode", stopping_encode)
    stopped = CliRunner().invoke(command.bench, args, obj=args)
    assert isinstance(stopped.exception, Stopped)
    assert sorted(p.name for p in work.iterdir()) == [
        "nvcodec_0_params4000.cfv",
        "nvcodec_0_params4000.json",
        "run.json",
    ]
    first = (work / "nvcodec_0_params4000.json").read_text()
    refused = CliRunner().invoke(command.bench, args, obj=args)
    assert isinstance(refused.exception, FileError) and "--resume" in str(refused.exception)
    other = [*args[:2], "4000,13000", *args[3:], "--resume"]
    refused = CliRunner().invoke(command.bench, other, obj=other)
    assert isinstance(refused.exception, SettingsError)
    assert "(nvcodec.sizes: " in str(refused.exception) and "13000" in str(refused.exception)

    calls.clear()
    monkeypatch.setattr(api, "encode", lambda *a, **k: calls.append(k) or encode(*a, **k))
    resumed_args = [*args, "--resume"]
    resumed = CliRunner().invoke(command.bench, resumed_args, obj=resumed_args)
    assert resumed.exit_code == 0, resumed.output
    assert [c["params"] for c in calls] == [12000]  # only the unfinished point was fitted
    assert (work / "nvcodec_0_params4000.json").read_text() == first
    assert read_result(out).command == shlex.join(["cfv", "bench", *args])  # --resume left out
    assert [p.setting for p in read_result(out).curves[0].points] == [
        {"params": 4000},
        {"params": 12000},
    ]


def test_grid_points_are_rate_weights(tiny_mkv: str, tmp_path, monkeypatch) -> None:
    encode = api.encode
    calls: list[dict] = []
    monkeypatch.setattr(api, "encode", lambda *a, **k: calls.append(k) or encode(*a, **k))
    args = [tiny_mkv, "--lambda", "0.1,10", "--layers", "3", "--epochs", "1", "--codecs", ""]
    args += ["--device", "cpu", "--out", str(tmp_path / "rd.json")]
    done = CliRunner().invoke(command.bench, args, obj=args)
    assert done.exit_code == 0, done.output
    assert [(c["model"], c["rate_lambda"]) for c in calls] == [("grid", 0.1), ("grid", 10.0)]
    assert [c["layers"] for c in calls] == [3, 3]
    curve = read_result(tmp_path / "rd.json").curves[0]
    assert (curve.settings["model"], curve.settings["layers"]) == ("grid", 3)
    assert [p.info["rate_lambda"] for p in curve.points] == [0.1, 10.0]


def test_bad_options_are_one_line_errors(tiny_mkv: str, tmp_path) -> None:
    for args, code, message in (
        ([tiny_mkv, "--params", "3000", "--bpp", "1"], 2, "give one of --params"),
        ([tiny_mkv, "--lambda", "1", "--model", "mlp"], 2, "--model mlp has none"),
        ([tiny_mkv, "--codecs", "vp9"], 2, "unknown codec 'vp9'"),
        ([tiny_mkv, "-s", "33x24"], 2, "even width and height"),
        ([str(tmp_path / "missing.mp4")], 1, "no such file"),
    ):
        run = subprocess.run(
            [*CFV, "bench", *args, "--out", str(tmp_path / "r.json")],
            capture_output=True,
            text=True,
        )
        assert run.returncode == code and message in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_the_module_form_and_a_light_cli_import() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "nvcodec.bench", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "--resume" in helped.stdout
    listed = subprocess.run([*CFV, "--help"], capture_output=True, text=True)
    assert "bench" in listed.stdout
    probe = (
        "import sys, nvcodec.cli; print(sorted(m for m in sys.modules if "
        "m.startswith(('matplotlib', 'nvcodec.bench', 'bjontegaard', 'pytorch_msssim'))))"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert imported.stdout.strip() == "[]", imported.stdout


def test_readme_section_from_a_result(tmp_path) -> None:
    from tools import report

    write_result(_result(), tmp_path / "rd.json")
    lines = report.rd_section(json.loads((tmp_path / "rd.json").read_text()))
    text = "\n".join(lines)
    assert "| x265 medium | crf 30 | 1,000 | 0.5000 | 35.00 | inf |" in text
    assert "nvcodec fitted for 2 epochs per point; cpu, a CPU, 2 threads" in text
    assert "Published, not measured" in text and "- a note" in text
    assert "earlier" not in text  # no compared curve, no paragraph on how the anchor moved


def test_readme_says_how_far_the_anchor_moved() -> None:
    """An earlier anchor at 1.1 times the rate and nvcodec at twice it: the anchor moved by
    +10% BD-rate, and nvcodec's BD-rate goes from 2 / 1.1 - 1 = +81.8% to +100%."""
    from tools import report

    def curve(codec: str, scale: float, source: str = "measured") -> Curve:
        points = [
            replace(_point(3, psnr_rgb=p), bpp=scale * 0.01 * 2 ** (p / 3), setting={"q": p})
            for p in (30.0, 33.0, 36.0, 39.0)
        ]
        return Curve(codec, source, {}, points)

    curves = [
        curve("nvcodec", 2.0, "old.json (2026-11-22)"),
        curve("x265 medium", 1.0),
        curve("x265 medium (old.json)", 1.1, "old.json (2026-11-22)"),
    ]
    result = replace(_result(), curves=curves, bd=rd.bd_entries(curves, "x265 medium"))
    text = "\n".join(report.rd_section(json.loads(dumps(result))))
    assert "| x265 medium (old.json) |" not in text  # compared curves stay out of the table
    assert "| nvcodec | x265 medium | 20.480-81.920 | +100.0% | -3.00 dB | +100.0% |" in text
    assert "lies 0.41 dB below this one at equal rate" in text  # 3 log2(1.1) dB
    assert "(BD-PSNR RGB, PCHIP; BD-rate +10.0%)" in text
    assert "was +81.8% (PCHIP; cubic +81.8%)" in text and "it is +100.0% (cubic +100.0%)" in text


def test_published_table_carries_every_transcribed_value() -> None:
    from tools import report

    published = json.loads(report.PUBLISHED.read_text())
    lines = report.published_lines()
    assert published["source"]["title"] in lines[0] and "not published" in lines[0]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines if line.startswith("| ")}
    for method in published["methods"]:
        assert len(method["psnr_by_size"]) == len(published["sizes"])
        cells = rows[method["method"]].strip("| ").split(" | ")[1:]
        assert [float(c) for c in cells] == method["psnr_by_size"]
    # 3M parameters at 8 bits over 1280 x 720 x 132 pixels.
    assert rows["*bpp at 8 bits per parameter*"].endswith("| 0.1973 |")


def test_the_committed_result_uses_the_exact_colour_path() -> None:
    """Its classic curves carry every metric; its nvcodec curve is the first-schema run's, and
    against that run's x265 curve the cubic BD-rate is the one the first schema stored."""
    path = ROOT / "tools" / "results" / "rd_bunny_320x180.json"
    result = read_result(path)
    assert "2x2 box average" in result.colour
    for curve in result.curves:
        if curve.source == "measured":
            assert all(p.metric(m) is not None for p in curve.points for m in METRICS)
    stored = json.loads(V1_RESULT.read_text())["curves"][0]["bd"]["psnr_rgb"]
    earlier = result.bd_of("nvcodec", "x265 medium (rd_bunny_320x180_v1.json)", "psnr_rgb", "cubic")
    assert earlier.bd_rate_percent == pytest.approx(stored["bd_rate_percent"], abs=1e-3)
    assert result.bd_of("nvcodec", result.anchor, "psnr_rgb", "pchip").bd_rate_percent > 0
    text = path.with_suffix(".md").read_text()
    assert text == markdown(result) and "nvcodec against every curve:" in text
