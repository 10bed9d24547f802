"""Regenerate the README's measurement tables from the committed JSON in tools/results/.

    python tools/report.py          # rewrite the block between the README's results markers
    python tools/report.py --check  # exit 1 if the README is out of date

The tables are never edited by hand: a number in the README is a number in a result file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nvcodec.model import CoordFlow, count_parameters  # noqa: E402
from nvcodec.presets import PRESETS, config_for_preset  # noqa: E402

RESULTS = ROOT / "tools" / "results"
BENCH_RESULTS = ROOT / "tools" / "bench" / "results"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(name: str) -> dict | None:
    folder = BENCH_RESULTS if name.startswith("speed_") else RESULTS
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine(result: dict) -> str:
    env = result["environment"]
    return f"{env['device']}, {env['cpu']}, {env['threads']} threads, torch {env['torch']}"


def curve_section(result: dict) -> list[str]:
    model = result["model"]
    up = result["upsampling_2x_vs_true_320x180"]
    lines = [
        f"**Fitting Bunny** ({result['clip']}; {model['num_layers']} layers, "
        f"{model['params']:,} parameters; {machine(result)}; "
        "`python tools/study.py curve`). PSNR of the whole clip against fitting time:",
        "",
        "| seconds | epochs | PSNR (dB) |",
        "| ---: | ---: | ---: |",
    ]
    points = result["curve"]
    shown = [p for p in points if round(p["seconds"]) % 30 < 15 or p is points[-1]]
    lines += [f"| {p['seconds']:.0f} | {p['epochs']:.1f} | {p['psnr']:.2f} |" for p in shown]
    lines += [
        "",
        "**Upsampling.** The same fit rendered at 2x (320x180) against the true 320x180 frames "
        "(area-downscaled from the 720p source), beside classic upsampling of the 160x90 input:",
        "",
        "| method | PSNR at 320x180 (dB) |",
        "| --- | ---: |",
        f"| CoordFlow rendered at 2x | {up['coordflow_2x']:.2f} |",
        f"| bilinear | {up['bilinear_2x']:.2f} |",
        f"| nearest | {up['nearest_2x']:.2f} |",
    ]
    return lines


def sweep_section(result: dict) -> list[str]:
    lines = [
        f"**Fitting settings** (Bunny 160x90x32, xs preset, {result['fit']['seconds']:.0f} s of "
        f"fitting each; {machine(result)}; `python tools/study.py sweep`):",
        "",
        "| setting | batch | peak lr | epochs | PSNR (dB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['label']} | {r['batch_size']} | {r['lr']:g} | {r['epochs']:.1f} | {r['psnr']:.2f} |"
        for r in result["rows"]
    ]
    return lines


def ablation_section(result: dict) -> list[str]:
    lines = [
        f"**Ablation** (the paper's Table 5; equal parameter budget and "
        f"{result['fit']['seconds']:.0f} s of fitting each; {machine(result)}; "
        "`python tools/study.py ablation`):",
        "",
        "| clip | variant | parameters | epochs | PSNR (dB) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['clip']} | {r['variant']} | {r['model']['params']:,} | {r['epochs']:.1f} | "
        f"{r['psnr']:.2f} |"
        for r in result["rows"]
    ]
    return lines


def flow_section(result: dict) -> list[str]:
    rec = result["recovery"]
    return [
        f"**The flow is real.** {result['clip']}; a 1-layer fit of "
        f"{result['model']['params']:,} parameters ({result['fit']['epochs']:.0f} epochs, "
        f"{result['psnr']:.2f} dB; `python tools/study.py flow`). The learned translation, "
        "in pixels, against the true motion:",
        "",
        "| axis | correlation | slope (1 = exact) |",
        "| --- | ---: | ---: |",
        f"| x | {rec['x']['correlation']:.4f} | {rec['x']['slope']:.3f} |",
        f"| y | {rec['y']['correlation']:.4f} | {rec['y']['slope']:.3f} |",
    ]


def preset_section() -> list[str]:
    lines = [
        "**Presets** (2 layers; widths follow the budget, octaves the clip; `--params N` sets "
        "any other budget):",
        "",
        "| preset | budget | clip | colour net (depth x width) | octaves xy / t | parameters | "
        "colour share |",
        "| --- | ---: | --- | --- | --- | ---: | ---: |",
    ]
    for name, budget in PRESETS.items():
        for width, height, frames in ((160, 90, 32), (1280, 720, 132)):
            config = config_for_preset(name, width, height, frames)
            model = CoordFlow(config)
            total = count_parameters(model)
            share = count_parameters(model.colour) / total
            lines.append(
                f"| {name} | {budget:,} | {width}x{height}x{frames} | "
                f"{config.colour_depth} x {config.colour_width} | "
                f"{config.xy_octaves} / {config.t_octaves} | {total:,} | {share:.1%} |"
            )
    return lines


def speed_section(result: dict) -> list[str]:
    settings = result["settings"]
    mode = "--quick" if settings["quick"] else "full run"
    lines = [
        f"**Speed** ({machine(result)}; {settings['precision'].split('.')[-1]} matmul ceiling "
        f"{result['ceiling_gflops']:.0f} GFLOP/s measured in the same run; "
        f"`python tools/bench/speed.py`, {mode}). Fitting counts forward and backward FLOPs "
        "per pixel sample, rendering forward FLOPs per pixel (`nvcodec/cost.py`):",
        "",
        "| preset | parameters | fitting samples/s | fitting, share of ceiling | "
        "render fps 720p | render fps 1080p | render, share of ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fit_row in result["fit"]:
        renders = {r["size"]: r for r in result["render"] if r["preset"] == fit_row["preset"]}
        share = max(r["fraction_of_ceiling"] for r in renders.values())
        lines.append(
            f"| {fit_row['preset']} | {fit_row['params']:,} | "
            f"{fit_row['samples_per_second']:,} | {fit_row['fraction_of_ceiling']:.0%} | "
            f"{renders['720p']['fps']:.3g} | {renders['1080p']['fps']:.3g} | {share:.0%} |"
        )
    return lines


SECTIONS = [
    ("bunny_160x90x32_xs_curve", curve_section),
    ("ablation_160x90x32", ablation_section),
    ("flow_recovery", flow_section),
    ("fit_sweep_160x90x32", sweep_section),
    ("speed_cpu", speed_section),
    ("speed_cuda", speed_section),
]


def render_block() -> str:
    lines = [BEGIN, "", *preset_section(), ""]
    for name, section in SECTIONS:
        result = load(name)
        if result is None and name.startswith("speed_"):
            result = load(name + "_quick")
        if result is not None:
            lines += section(result) + [""]
    return "\n".join(lines + [END])


@click.command()
@click.option("--check", is_flag=True, help="Only check that the README is up to date.")
def main(check: bool) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise click.ClickException(f"README.md lacks the {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    updated = head + render_block() + tail
    if check:
        sys.exit(0 if updated == text else 1)
    readme.write_text(updated)
    click.echo("README.md tables regenerated")


if __name__ == "__main__":
    main()
