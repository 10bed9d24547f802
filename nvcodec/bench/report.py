"""A result as people read it: markdown tables of the points and the BD numbers, and
CompressAI's result JSON, so nvcodec's curve can be plotted beside CompressAI's published ones
(`python -m compressai.utils.plot`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence

from nvcodec.bench.schema import MEASURED, NVCODEC, Curve, RdResult

BD_COLUMNS = (
    ("psnr_rgb", "pchip", "BD-rate RGB"),
    ("psnr_rgb", "cubic", "BD-rate RGB (cubic)"),
    ("psnr_yuv", "pchip", "BD-rate YUV"),
    ("ms_ssim", "pchip", "BD-rate MS-SSIM"),
)
"""(metric, method, heading) of the BD-rate columns; each is followed by the BD-quality of the
PSNRs."""


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    """A markdown table's lines: the header, the alignment line (one letter of `align` per
    column: "l" left, "r" right) and a line per row of cells, so that every table of the
    reports is written one way."""
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align {align!r} is not one 'l' or 'r' per column of {list(header)}")
    rule = ["---:" if side == "r" else "---" for side in align]
    return ["| " + " | ".join(cells) + " |" for cells in (header, rule, *rows)]


def points_table(result: RdResult, curves: list[Curve] | None = None) -> list[str]:
    """One row per point of `curves` (all of the result's by default)."""
    header = ["codec", "setting", "bytes", "bpp", "PSNR RGB", "PSNR Y", "PSNR U", "PSNR V"]
    header += ["PSNR YUV", "MS-SSIM", "encode s", "decode s"]
    rows = []
    for curve in result.curves if curves is None else curves:
        for p in curve.points:
            setting = ", ".join(f"{k} {v:g}" for k, v in p.setting.items())
            psnrs = [
                _number(p.metric(m), 2)
                for m in ("psnr_rgb", "psnr_y", "psnr_u", "psnr_v", "psnr_yuv")
            ]
            rows.append(
                [curve.codec, setting, f"{p.bytes:,}", f"{p.bpp:.4f}", *psnrs]
                + [_number(p.ms_ssim, 4), f"{p.encode_seconds:.1f}", f"{p.decode_seconds:.2f}"]
            )
    return markdown_table(header, rows, "ll" + "r" * 10)


def bd_table(result: RdResult, pairs: list[tuple[str, str]]) -> list[str]:
    """BD-rate (and BD-PSNR for the PSNR columns) of each (test, anchor) pair, and the bpp
    range the RGB curves share; n/a where a number is missing (`missing_bd_reasons` says why)."""
    heads = ["shared bpp"]
    for metric, _, heading in BD_COLUMNS:
        heads.append(heading)
        if metric.startswith("psnr"):
            heads.append(heading.replace("BD-rate", "BD-PSNR"))
    rows = []
    for test, anchor in pairs:
        shared = result.bd_of(test, anchor, "psnr_rgb", "pchip")
        span = None if shared is None else shared.rate_range
        cells = ["n/a" if span is None else f"{span[0]:.3f}-{span[1]:.3f}"]
        for metric, method, _ in BD_COLUMNS:
            entry = result.bd_of(test, anchor, metric, method)
            rate = None if entry is None else entry.bd_rate_percent
            cells.append("n/a" if rate is None else f"{rate:+.1f}%")
            if metric.startswith("psnr"):
                gain = None if entry is None else entry.bd_quality
                cells.append("n/a" if gain is None else f"{gain:+.2f} dB")
        rows.append([test, anchor, *cells])
    return markdown_table(["codec", "against", *heads], rows, "ll" + "r" * len(heads))


def missing_bd_reasons(result: RdResult, pairs: list[tuple[str, str]]) -> list[str]:
    """One line per pair and metric of the BD table whose PCHIP number is missing."""
    reasons = []
    metrics = dict.fromkeys(metric for metric, _, _ in BD_COLUMNS)
    for test, anchor in pairs:
        for metric in metrics:
            entry = result.bd_of(test, anchor, metric, "pchip")
            if entry is not None and entry.reason:
                reasons.append(f"{test} against {anchor}, {metric}: no BD numbers ({entry.reason})")
    return reasons


def anchor_pairs(result: RdResult) -> list[tuple[str, str]]:
    """(curve, anchor) for every measured curve other than the anchor."""
    return [
        (c.codec, result.anchor)
        for c in result.curves
        if c.codec != result.anchor and result.bd_of(c.codec, result.anchor, "psnr_rgb", "pchip")
    ]


def markdown(result: RdResult) -> str:
    """The points, the BD numbers against the anchor and nvcodec's against every curve, why
    numbers of this run are missing, and the notes, as one markdown text."""
    pairs = anchor_pairs(result)
    against = [(NVCODEC, c.codec) for c in result.curves if c.codec not in (NVCODEC, result.anchor)]
    lines = [
        f"Clip: {result.clip.path}, frames {result.clip.frames[0]}:{result.clip.frames[1]}, "
        f"{result.clip.size[0]}x{result.clip.size[1]}. Colour: {result.colour}.",
        "",
        *points_table(result),
        "",
        f"Bjøntegaard deltas against {result.anchor} (PCHIP unless marked; negative BD-rate "
        "and positive BD-PSNR are better):",
        "",
        *bd_table(result, pairs),
    ]
    if result.curve(NVCODEC) is not None and against:
        lines += ["", "nvcodec against every curve:", "", *bd_table(result, against)]
    measured = [p for p in pairs if result.curve(p[0]).source == MEASURED or p[0] == NVCODEC]
    reasons = missing_bd_reasons(result, measured)
    notes = [f"- {note}" for note in result.notes]
    for extra in (reasons, notes):
        if extra:
            lines += ["", *extra]
    return "\n".join(lines) + "\n"


def compressai_json(result: RdResult, curve: Curve) -> str:
    """One curve in CompressAI's result format, points in rising rate; metrics not measured
    are left out."""
    points = sorted(curve.points, key=lambda p: p.bpp)
    results: dict[str, list[float]] = {"bpp": [p.bpp for p in points]}
    for key, metric in (
        ("psnr-rgb", "psnr_rgb"),
        ("ms-ssim-rgb", "ms_ssim"),
        ("psnr-yuv", "psnr_yuv"),
    ):
        values = [p.metric(metric) for p in points]
        if all(v is not None and math.isfinite(v) for v in values):
            results[key] = values
    results["encoding_time"] = [p.encode_seconds for p in points]
    results["decoding_time"] = [p.decode_seconds for p in points]
    clip = result.clip
    payload = {
        "name": curve.codec,
        "description": (
            f"{curve.codec} on {clip.path} frames {clip.frames[0]}:{clip.frames[1]} at "
            f"{clip.size[0]}x{clip.size[1]} ({result.colour}; psnr-yuv weights Y:U:V 6:1:1); "
            f"{result.command}"
        ),
        "results": results,
    }
    return json.dumps(payload, indent=1) + "\n"


def file_stem(codec: str) -> str:
    """A file name for a codec's name: 'x265 medium 4:4:4' -> 'x265-medium-4-4-4'."""
    return re.sub(r"[^a-z0-9]+", "-", codec.lower()).strip("-")


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"
