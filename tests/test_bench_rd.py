"""The RD benchmark: Bjøntegaard deltas on worked examples, the result schema, a tiny real run."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from nvcodec.errors import FileError
from tools.bench import rd
from tools.bench.bd import bd_psnr, bd_rate
from tools.bench.classic import X265_MEDIUM, span_crfs
from tools.bench.metrics import measure
from tools.bench.rdtable import PUBLISHED, bd_table, points_table, published_lines
from tools.bench.schema import Clip, Curve, Point, RdResult, read_result, write_result

# A typical curve: rate doubles for about 3 dB (log10 R = -3 + PSNR / 10 * 0.99), with a bend.
PSNRS = [30.0, 33.0, 36.0, 39.0, 42.0]
ANCHOR = [(10 ** (-3 + 0.099 * p + 0.0004 * (p - 36) ** 2), p) for p in PSNRS]


def test_bd_of_a_curve_against_itself_is_zero() -> None:
    assert bd_rate(ANCHOR, ANCHOR).value == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(ANCHOR, ANCHOR).value == pytest.approx(0.0, abs=1e-9)


def test_rates_scaled_by_0_9_give_minus_10_percent() -> None:
    test = [(0.9 * r, p) for r, p in ANCHOR]
    assert bd_rate(ANCHOR, test).value == pytest.approx(-10.0, abs=1e-9)


def test_a_psnr_offset_of_half_a_db_gives_bd_psnr_0_5() -> None:
    test = [(r, p + 0.5) for r, p in ANCHOR]
    assert bd_psnr(ANCHOR, test).value == pytest.approx(0.5, abs=1e-9)


def test_worked_example_on_different_psnr_points() -> None:
    """log10 R = -3 + P / 20 (anchor) and the same at 0.8 times the rate, sampled elsewhere:
    BD-rate is -20% and BD-PSNR is -20 log10(0.8) = 1.9382 dB, exactly (lines fit exactly)."""
    anchor = [(10 ** (-3 + p / 20), p) for p in (30.0, 32.0, 34.0, 36.0)]
    test = [(0.8 * 10 ** (-3 + p / 20), p) for p in (31.0, 33.0, 35.0, 37.0, 38.0)]
    assert bd_rate(anchor, test).value == pytest.approx(-20.0, abs=1e-9)
    assert bd_psnr(anchor, test).value == pytest.approx(-20 * math.log10(0.8), abs=1e-9)


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        (ANCHOR[:3], "a cubic fit needs 4"),
        ([(r, p + 20) for r, p in ANCHOR], "do not overlap"),
        ([(0.0, p) for _, p in ANCHOR], "positive and finite"),
    ],
)
def test_bd_without_an_answer_says_why(test: list, reason: str) -> None:
    delta = bd_rate(ANCHOR, test)
    assert delta.value is None and reason in delta.reason


def test_psnr_y_uses_bt709_luma_and_mse_over_all_frames() -> None:
    reference = np.zeros((2, 4, 4, 3), np.uint8)
    decoded = reference.copy()
    decoded[0, ..., 1] = 10  # green only: luma error 7.152 on frame 0, none on frame 1
    quality = measure(reference, decoded)
    assert quality.psnr_y == pytest.approx(10 * math.log10(255**2 / (7.152**2 / 2)))
    assert quality.psnr_rgb == pytest.approx(10 * math.log10(255**2 / (100 / 3 / 2)))
    assert quality.psnr_y_per_frame[1] == math.inf


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


def _result(frames: int = 3) -> RdResult:
    point = Point(
        setting={"crf": 30},
        info={},
        bytes=1000,
        bpp=0.5,
        psnr_rgb=35.0,
        psnr_y=math.inf,
        psnr_rgb_per_frame=[35.0] * frames,
        psnr_y_per_frame=[math.inf] * frames,
        encode_seconds=1.0,
        decode_seconds=0.1,
    )
    bd = {
        m: {"bd_rate_percent": None, "bd_rate_reason": "1 point", "bd_psnr_db": None,
            "bd_psnr_reason": "1 point"}
        for m in ("psnr_rgb", "psnr_y")
    }  # fmt: skip
    return RdResult(
        command="python -m tools.bench.rd",
        environment={"device": "cpu", "cpu": "a CPU", "threads": 2, "torch": "2.13.0"},
        luma="BT.709",
        anchor="x265 medium",
        clip=Clip(path="clip.mp4", frames=[0, frames], size=[32, 24], fps="25/1", resized=False),
        curves=[
            Curve("nvcodec", {"epochs": 2.0, "minutes": None}, [replace(point, setting={})], bd),
            Curve("x265 medium", {"preset": "medium"}, [point], bd),
        ],
    )


def test_schema_round_trip(tmp_path) -> None:
    result = _result()
    write_result(result, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["curves"][1]["points"][0]["psnr_y"] is None
    assert read_result(tmp_path / "r.json") == result
    assert "x265 medium" in "\n".join(points_table(result) + bd_table(result))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("schema"), "'schema' is not"),
        (lambda d: d["clip"].pop("fps"), "result.clip lacks ['fps']"),
        (lambda d: d["curves"][1]["points"][0].update(colour=1), "unknown keys ['colour']"),
        (lambda d: d["curves"][1]["points"][0].update(bytes="1000"), "bytes is str, not int"),
        (lambda d: d["curves"][1]["points"][0].update(bpp=True), "bpp is bool, not float"),
        (lambda d: d["curves"][1].update(points={}), "points is not a list"),
        (lambda d: d["curves"][1]["points"][0]["psnr_y_per_frame"].pop(), "not 3 long"),
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


def test_published_table_carries_every_transcribed_value() -> None:
    published = json.loads(PUBLISHED.read_text())
    lines = published_lines()
    assert published["source"]["title"] in lines[0] and "not published" in lines[0]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines if line.startswith("| ")}
    for method in published["methods"]:
        assert len(method["psnr_by_size"]) == len(published["sizes"])
        cells = rows[method["method"]].strip("| ").split(" | ")[1:]
        assert [float(c) for c in cells] == method["psnr_by_size"]
    # 3M parameters at 8 bits over 1280 x 720 x 132 pixels.
    assert rows["*bpp at 8 bits per parameter*"].endswith("| 0.1973 |")


def test_bad_options_are_one_line_errors(tiny_mkv: str) -> None:
    runner = CliRunner()
    for args, message in (
        ([tiny_mkv, "--params", "3000", "--bpp", "1"], "not both"),
        ([tiny_mkv, "--codecs", "vp9"], "unknown codec 'vp9'"),
        ([tiny_mkv, "--params", "3000,x"], "is not a list"),
        ([tiny_mkv, "-s", "33x24", "--epochs", "1"], "even width and height"),
    ):
        outcome = runner.invoke(rd.main, args)
        assert outcome.exit_code == 2 and message in outcome.output, outcome.output
    outcome = runner.invoke(rd.main, ["missing.mp4", "--epochs", "1", "--codecs", ""])
    assert outcome.exit_code == 1 and "no such file" in outcome.output
    assert "Traceback" not in outcome.output


def test_tiny_end_to_end_run(tiny_mkv: str, tmp_path) -> None:
    """Two nvcodec points and two CRFs per classic codec on the 32x24x8 clip, JSON to PNG."""
    out = tmp_path / "rd.json"
    args = [tiny_mkv, "--params", "4000,12000", "--epochs", "2", "--crf-points", "2"]
    outcome = CliRunner().invoke(rd.main, [*args, "--device", "cpu", "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    result = read_result(out)
    assert [c.codec for c in result.curves] == [
        "nvcodec", "x265 medium", "x265 veryslow", "x264 medium", "SVT-AV1 preset 8"
    ]  # fmt: skip
    nvcodec = result.curves[0]
    assert [p.setting for p in nvcodec.points] == [{"params": 4000}, {"params": 12000}]
    for point in nvcodec.points:  # the file decodes to what the encoder itself measured
        assert point.psnr_rgb == pytest.approx(point.info["encoder_psnr"], abs=1e-6)
    for curve in result.curves:
        assert len(curve.points) == 2
        for point in curve.points:
            assert point.bpp == pytest.approx(8 * point.bytes / (32 * 24 * 8))
            assert len(point.psnr_rgb_per_frame) == 8 and point.psnr_rgb > 10
        assert curve.bd["psnr_rgb"]["bd_rate_percent"] is None  # two points: no cubic fit
        assert "needs 4" in curve.bd["psnr_rgb"]["bd_rate_reason"]
    assert result.clip.frames == [0, 8] and result.clip.size == [32, 24]
    assert out.with_suffix(".md").read_text().startswith("| codec |")
    assert out.with_suffix(".png").exists() == _has_matplotlib()


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_anchor_missing_gives_reasons() -> None:
    curve = _result().curves[1]
    assert rd.with_bd(replace(curve, bd={}), None).bd["psnr_y"]["bd_psnr_reason"].startswith("the")


def test_readme_section_from_a_result(tmp_path) -> None:
    from tools import report

    write_result(_result(), tmp_path / "rd.json")
    lines = report.rd_section(json.loads((tmp_path / "rd.json").read_text()))
    text = "\n".join(lines)
    assert "| x265 medium | crf 30 | 1,000 | 0.5000 | 35.00 | inf |" in text
    assert "nvcodec fitted for 2 epochs per point; cpu, a CPU, 2 threads" in text
    assert "Published, not measured" in text and "no BD numbers (1 point)" in text
