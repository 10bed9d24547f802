"""Bjøntegaard deltas: worked examples for every method, the reasons for a missing number, and
the cubic method against the numbers the earlier hand-written VCEG-M33 code committed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nvcodec.bench.bd import METHODS, bd

# A typical curve: rate doubles for about 3 dB, with a bend.
PSNRS = [30.0, 33.0, 36.0, 39.0, 42.0]
ANCHOR = [(10 ** (-3 + 0.099 * p + 0.0004 * (p - 36) ** 2), p) for p in PSNRS]
V1_RESULT = Path(__file__).resolve().parents[1] / "tools" / "results" / "rd_bunny_320x180_v1.json"


@pytest.mark.parametrize("method", METHODS)
def test_a_curve_against_itself_is_zero(method: str) -> None:
    delta = bd(ANCHOR, ANCHOR, method)
    assert delta.bd_rate_percent == pytest.approx(0.0, abs=1e-9)
    assert delta.bd_quality == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_rates_scaled_by_0_9_give_minus_10_percent(method: str) -> None:
    delta = bd(ANCHOR, [(0.9 * r, p) for r, p in ANCHOR], method)
    assert delta.bd_rate_percent == pytest.approx(-10.0, abs=1e-9)
    assert delta.quality_range == (30.0, 42.0)


@pytest.mark.parametrize("method", METHODS)
def test_a_psnr_offset_of_half_a_db_gives_bd_psnr_0_5(method: str) -> None:
    delta = bd(ANCHOR, [(r, p + 0.5) for r, p in ANCHOR], method)
    assert delta.bd_quality == pytest.approx(0.5, abs=1e-9)
    assert delta.rate_range == pytest.approx((ANCHOR[0][0], ANCHOR[-1][0]))


def test_pchip_works_on_two_points_and_reports_the_overlap() -> None:
    """log10 R = -3 + P / 20 and 0.8 times that rate: straight lines, so every method is exact
    on the shared range; PCHIP needs only two points of each."""
    anchor = [(10 ** (-3 + p / 20), p) for p in (30.0, 36.0)]
    test = [(0.8 * 10 ** (-3 + p / 20), p) for p in (32.0, 38.0)]
    delta = bd(anchor, test, "pchip")
    assert delta.bd_rate_percent == pytest.approx(-20.0, abs=1e-9)
    assert delta.bd_quality == pytest.approx(-20 * math.log10(0.8), abs=1e-9)
    assert delta.quality_range == (32.0, 36.0)
    assert bd(anchor, test, "cubic").reason == "anchor: 2 points; this method needs 4"


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        ([(r, p + 20) for r, p in ANCHOR], "do not overlap"),
        ([(0.0, p) for _, p in ANCHOR], "positive and finite"),
        ([(r, None) for r, _ in ANCHOR], "not measured"),
        ([(r, -p) for r, p in ANCHOR], "does not rise"),
    ],
)
def test_a_missing_number_says_why(test: list, reason: str) -> None:
    delta = bd(ANCHOR, test, "pchip")
    assert delta.bd_rate_percent is None and delta.bd_quality is None
    assert reason in delta.reason


def test_cubic_reproduces_the_committed_hand_written_numbers() -> None:
    """The first-schema result stores the deltas its own VCEG-M33 code computed (rounded to
    3 and 4 decimals); the library's cubic gives the same on the same points."""
    committed = json.loads(V1_RESULT.read_text())
    anchor = next(c for c in committed["curves"] if c["codec"] == committed["anchor"])
    checked = 0
    for curve in committed["curves"]:
        for metric in ("psnr_rgb", "psnr_y"):
            delta = bd(
                [(p["bpp"], p[metric]) for p in anchor["points"]],
                [(p["bpp"], p[metric]) for p in curve["points"]],
                "cubic",
            )
            stored = curve["bd"][metric]
            assert delta.bd_rate_percent == pytest.approx(stored["bd_rate_percent"], abs=6e-4)
            assert delta.bd_quality == pytest.approx(stored["bd_psnr_db"], abs=6e-5)
            checked += 1
    assert checked == 10
