"""Bjøntegaard deltas between two rate-distortion curves (VCEG-M33, the usual method).

BD-rate: for each curve, log10(rate) is fitted by least squares as a cubic polynomial of PSNR
(exact through 4 points); both cubics are integrated over the PSNR interval the two curves
share, and the mean difference d (test minus anchor) gives BD-rate = (10^d - 1) * 100 %, the
average change of rate at equal quality. BD-PSNR swaps the axes: PSNR as a cubic of
log10(rate), integrated over the shared log-rate interval; the mean difference in dB is the
average change of quality at equal rate. A negative BD-rate or a positive BD-PSNR means the
test curve is better than the anchor.

Each curve needs at least 4 points with distinct values on the fitted axis, positive rates and
finite PSNRs, and the two curves' ranges must overlap; otherwise the delta is None with the
reason. Any rate unit works (bpp, bytes) as long as both curves use the same one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_POINTS = 4

RdCurve = Sequence[tuple[float, float]]
"""(rate, PSNR) pairs, in any order."""


@dataclass(frozen=True)
class Delta:
    """A BD number (percent for BD-rate, dB for BD-PSNR), or None and why it is missing."""

    value: float | None
    reason: str | None = None


def bd_rate(anchor: RdCurve, test: RdCurve) -> Delta:
    """Average rate change of `test` against `anchor` at equal PSNR, in percent."""
    delta = _mean_gap(_axes(anchor, log_rate_first=False), _axes(test, log_rate_first=False))
    if delta.value is None:
        return delta
    return Delta((10.0**delta.value - 1.0) * 100.0)


def bd_psnr(anchor: RdCurve, test: RdCurve) -> Delta:
    """Average PSNR change of `test` against `anchor` at equal rate, in dB."""
    return _mean_gap(_axes(anchor, log_rate_first=True), _axes(test, log_rate_first=True))


def _axes(curve: RdCurve, log_rate_first: bool) -> tuple[np.ndarray, np.ndarray] | str:
    """(x, y) for the fit: (PSNR, log10 rate) or (log10 rate, PSNR); a reason if unusable."""
    if not all(r > 0 and math.isfinite(r) and math.isfinite(p) for r, p in curve):
        return "rates must be positive and finite, PSNRs finite"
    rates = np.log10(np.array([r for r, _ in curve], dtype=np.float64))
    psnrs = np.array([p for _, p in curve], dtype=np.float64)
    x, y = (rates, psnrs) if log_rate_first else (psnrs, rates)
    if len(np.unique(x)) < MIN_POINTS:
        return f"{len(np.unique(x))} distinct points; a cubic fit needs {MIN_POINTS}"
    return x, y


def _mean_gap(
    anchor: tuple[np.ndarray, np.ndarray] | str, test: tuple[np.ndarray, np.ndarray] | str
) -> Delta:
    """Mean of (test cubic - anchor cubic) over the x interval both curves cover."""
    for name, axes in (("anchor", anchor), ("test", test)):
        if isinstance(axes, str):
            return Delta(None, f"{name}: {axes}")
    (ax, ay), (tx, ty) = anchor, test
    low, high = max(ax.min(), tx.min()), min(ax.max(), tx.max())
    if not high > low:
        return Delta(None, "the curves' ranges do not overlap")
    areas = []
    for x, y in ((ax, ay), (tx, ty)):
        integral = np.polyint(np.polyfit(x, y, 3))
        areas.append(np.polyval(integral, high) - np.polyval(integral, low))
    return Delta(float((areas[1] - areas[0]) / (high - low)))
