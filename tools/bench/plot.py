"""The RD plot as a PNG: PSNR (RGB and Y) against bpp, one line per codec. Needs matplotlib,
an optional extra (`pip install -e '.[bench]'`); without it the plot is skipped."""

from __future__ import annotations

import os

from tools.bench.schema import RdResult


def plot_rd(result: RdResult, path: str | os.PathLike) -> str:
    """Draw the curves to `path`; returns what happened, for the user."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no plot"
    matplotlib.use("Agg")  # files only; never needs a display
    from matplotlib import pyplot, ticker

    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    panels = (("psnr_rgb", "RGB"), ("psnr_y", "Y (BT.709)"))
    for axis, (metric, label) in zip(axes, panels, strict=True):
        for curve in result.curves:
            points = sorted(curve.points, key=lambda p: p.bpp)
            axis.plot(
                [p.bpp for p in points],
                [getattr(p, metric) for p in points],
                marker="o",
                label=curve.codec,
            )
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))  # 0.05, not 5 x 10^-2
        # Minor ticks unlabelled: within a decade their labels run into each other.
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xlabel("bits per pixel")
        axis.set_ylabel(f"PSNR {label} (dB)")
        axis.grid(True, which="both", alpha=0.3)
    clip = result.clip
    figure.suptitle(
        f"{os.path.basename(clip.path)} {clip.size[0]}x{clip.size[1]}, "
        f"frames {clip.frames[0]}:{clip.frames[1]}"
    )
    axes[0].legend()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return f"wrote {path}"
