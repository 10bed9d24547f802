"""The RD plot as a PNG: PSNR-RGB, PSNR-YUV and MS-SSIM against bpp, one line per curve, on a
log-rate axis labelled at 1-2-5 steps (0.02, 0.05, 0.1, 0.2, ...)."""

from __future__ import annotations

import math
import os

from nvcodec.bench.schema import MEASURED, NVCODEC, RdResult

PANELS = (
    ("psnr_rgb", "PSNR RGB (dB)"),
    ("psnr_yuv", "PSNR YUV 6:1:1 (dB)"),
    ("ms_ssim", "MS-SSIM (RGB)"),
)


def rate_ticks(low: float, high: float) -> list[float]:
    """The 1-2-5 values from just below `low` to just above `high` (positive rates)."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            ticks.append(float(f"{mantissa}e{exponent}"))
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    start = ticks.index(below[-1]) if below else 0
    stop = ticks.index(above[0]) if above else len(ticks) - 1
    return ticks[start : stop + 1]


def plot_rd(result: RdResult, path: str | os.PathLike) -> None:
    """Draw every curve to `path`; a panel whose metric no curve has is left out."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    from matplotlib import pyplot, ticker

    panels = [
        (metric, label)
        for metric, label in PANELS
        if any(p.metric(metric) is not None for c in result.curves for p in c.points)
    ]
    rates = [p.bpp for c in result.curves for p in c.points]
    # One colour per codec, shared by its curve from an earlier result, the same in every panel.
    names = dict.fromkeys(c.codec.split(" (")[0] for c in result.curves)
    colours = {name: f"C{index % 10}" for index, name in enumerate(names)}
    ticks = rate_ticks(min(rates), max(rates))
    figure, axes = pyplot.subplots(
        1, len(panels), figsize=(5.5 * len(panels), 5.5), constrained_layout=True, squeeze=False
    )
    for axis, (metric, label) in zip(axes[0], panels, strict=True):
        for curve in result.curves:
            points = sorted(
                (p for p in curve.points if p.metric(metric) is not None), key=lambda p: p.bpp
            )
            if points:
                earlier = curve.source != MEASURED and curve.codec != NVCODEC
                axis.plot(
                    [p.bpp for p in points],
                    [p.metric(metric) for p in points],
                    "--" if earlier else "-",  # a curve kept from an earlier result: dashed
                    color=colours[curve.codec.split(" (")[0]],
                    marker="o",
                    label=curve.codec if axis is axes[0][0] else None,
                )
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        axis.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xlim(ticks[0], ticks[-1])
        axis.set_xlabel("bits per pixel")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    clip = result.clip
    figure.suptitle(
        f"{os.path.basename(clip.path)} {clip.size[0]}x{clip.size[1]}, "
        f"frames {clip.frames[0]}:{clip.frames[1]}"
    )
    figure.legend(loc="outside lower center", ncols=4, fontsize="small")
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
