"""Markdown tables of an RD result: every measured point, and the BD numbers against the anchor.

Used by `rd.py` for its report and by `tools/report.py` for the README.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.bench.schema import RdResult

PUBLISHED = Path(__file__).resolve().parent / "published.json"
BUNNY_FULL = (1280, 720, 132)  # the clip the published results are on


def points_table(result: RdResult) -> list[str]:
    lines = [
        "| codec | setting | bytes | bpp | PSNR RGB (dB) | PSNR Y (dB) | encode s | decode s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for curve in result.curves:
        for p in curve.points:
            setting = ", ".join(f"{k} {v:g}" for k, v in p.setting.items())
            lines.append(
                f"| {curve.codec} | {setting} | {p.bytes:,} | {p.bpp:.4f} | {p.psnr_rgb:.2f} | "
                f"{p.psnr_y:.2f} | {p.encode_seconds:.1f} | {p.decode_seconds:.2f} |"
            )
    return lines


def bd_table(result: RdResult) -> list[str]:
    """BD-rate and BD-PSNR of every curve against the anchor; n/a where there is none."""
    lines = [
        "| codec | BD-rate RGB | BD-PSNR RGB | BD-rate Y | BD-PSNR Y |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for curve in result.curves:
        cells = []
        for metric in ("psnr_rgb", "psnr_y"):
            bd = curve.bd[metric]
            rate, gain = bd["bd_rate_percent"], bd["bd_psnr_db"]
            cells.append("n/a" if rate is None else f"{rate:+.1f}%")
            cells.append("n/a" if gain is None else f"{gain:+.2f} dB")
        lines.append(f"| {curve.codec} | " + " | ".join(cells) + " |")
    return lines


def missing_bd_reasons(result: RdResult) -> list[str]:
    """One line per curve whose BD numbers are missing, with the reason."""
    reasons = []
    for curve in result.curves:
        bd = curve.bd["psnr_rgb"]
        reason = bd["bd_rate_reason"] or bd["bd_psnr_reason"]
        if reason:
            reasons.append(f"{curve.codec}: no BD numbers ({reason})")
    return reasons


def published_lines() -> list[str]:
    """The published NeRV-family results on Bunny (not measured here), as a markdown table."""
    published = json.loads(PUBLISHED.read_text())
    source = published["source"]
    width, height, frames = BUNNY_FULL
    sizes = published["sizes"]
    lines = [
        f"From *{source['title']}* ({source['code']}), {source['table']}; {source['clip']}, "
        f"models of each size trained {published['size_epochs']} epochs. PSNR of unquantized "
        "models in dB; the paper gives no file sizes. The last row is derived here, not "
        "published: what the weights alone would take at 8 bits each, before entropy coding.",
        "",
        "| method | " + " | ".join(f"{size / 1e6:g}M params" for size in sizes) + " |",
        "| --- |" + " ---: |" * len(sizes),
    ]
    for row in published["methods"]:
        cells = " | ".join(f"{value:.2f}" for value in row["psnr_by_size"])
        lines.append(f"| {row['method']} | {cells} |")
    bpp = " | ".join(f"{8 * size / (width * height * frames):.4f}" for size in sizes)
    lines.append(f"| *bpp at 8 bits per parameter* | {bpp} |")
    return lines
