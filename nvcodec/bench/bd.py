"""Bjøntegaard deltas between two rate-quality curves, computed by the `bjontegaard` package.

BD-rate interpolates log10(rate) as a function of quality for each curve, integrates both over
the quality interval the curves share, and turns the mean difference d (test minus anchor) into
(10^d - 1) * 100 %: the average change of rate at equal quality. BD-quality (BD-PSNR for the
PSNRs) swaps the axes: quality as a function of log10(rate) over the shared rate interval, the
mean difference in the metric's unit. Negative BD-rate and positive BD-quality favour the test.

Methods: `pchip` (piecewise cubic Hermite, JVET's sheet; the default) and `akima` need 2
points per curve, `cubic` (one least-squares cubic, VCEG-M33) needs 4. A curve whose points do
not rise in both rate and quality together cannot be interpolated as a function and gets no
number, with the reason; so do curves that do not overlap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METHODS = ("pchip", "akima", "cubic")
MIN_POINTS = {"pchip": 2, "akima": 2, "cubic": 4}

RdCurve = Sequence[tuple[float, float | None]]
"""(rate, quality) pairs in any order; any rate unit, the same for both curves."""


@dataclass(frozen=True)
class Delta:
    """BD-rate (percent) and BD-quality (the metric's unit) over the shared `rate_range` and
    `quality_range`, or None for both and the reason."""

    bd_rate_percent: float | None
    bd_quality: float | None
    rate_range: tuple[float, float] | None
    quality_range: tuple[float, float] | None
    reason: str | None = None


def bd(anchor: RdCurve, test: RdCurve, method: str = "pchip") -> Delta:
    """BD-rate and BD-quality of `test` against `anchor` by `method` (one of METHODS)."""
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}; choose from {', '.join(METHODS)}")
    curves = []
    for name, curve in (("anchor", anchor), ("test", test)):
        checked = _checked(curve, MIN_POINTS[method])
        if isinstance(checked, str):
            return _missing(f"{name}: {checked}")
        curves.append(checked)
    (anchor_rates, anchor_quality), (test_rates, test_quality) = curves
    rate_range = _overlap(anchor_rates, test_rates)
    quality_range = _overlap(anchor_quality, test_quality)
    if rate_range is None or quality_range is None:
        return _missing("the curves' ranges do not overlap")
    import bjontegaard  # imports matplotlib: only where BD numbers are computed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its overlap warning; the ranges are reported instead
        kwargs = {"method": method, "require_matching_points": False, "min_overlap": 0}
        rate = bjontegaard.bd_rate(anchor_rates, anchor_quality, test_rates, test_quality, **kwargs)
        quality = bjontegaard.bd_psnr(
            anchor_rates, anchor_quality, test_rates, test_quality, **kwargs
        )
    return Delta(float(rate), float(quality), rate_range, quality_range)


def _checked(curve: RdCurve, needed: int) -> tuple[np.ndarray, np.ndarray] | str:
    """(rates, qualities) sorted by rate, or why the curve cannot be interpolated."""
    if any(quality is None for _, quality in curve):
        return "the metric was not measured"
    if not all(rate > 0 and math.isfinite(rate) and math.isfinite(q) for rate, q in curve):
        return "rates must be positive and finite, qualities finite"
    if len(curve) < needed:
        return f"{len(curve)} points; this method needs {needed}"
    rates, qualities = np.array(sorted(curve), dtype=np.float64).T
    if not (np.all(np.diff(rates) > 0) and np.all(np.diff(qualities) > 0)):
        return "quality does not rise strictly with rate"
    return rates, qualities


def _overlap(first: np.ndarray, second: np.ndarray) -> tuple[float, float] | None:
    low, high = max(first.min(), second.min()), min(first.max(), second.max())
    return (float(low), float(high)) if high > low else None


def _missing(reason: str) -> Delta:
    return Delta(None, None, None, None, reason)
