"""Regenerate the measurement tables from the committed JSON in tools/results/: those of
docs/measurements.md and the GPU check's table in the README.

    python -m tools.report          # rewrite the blocks between the pages' markers
    python -m tools.report --check  # exit 1 if a page is out of date

The tables are never edited by hand: a number in a table is a number in a result file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from nvcodec.bench.report import (
    anchor_pairs,
    bd_table,
    markdown_table,
    missing_bd_reasons,
    points_table,
)
from nvcodec.bench.schema import MEASURED, NVCODEC, RdResult, parse_result
from nvcodec.bench.schema import SCHEMA as RD_SCHEMA
from nvcodec.bench.schema import SCHEMA_V1 as RD_SCHEMA_V1
from nvcodec.model.coordflow import CoordFlow, count_parameters
from nvcodec.model.presets import PRESETS, config_for_preset
from tools.applications import (
    DENOISING_SCHEMA,
    INTERPOLATION_SCHEMA,
    SEGMENTATION_SCHEMA,
    STABILIZATION_SCHEMA,
    UPSAMPLING_SCHEMA,
)
from tools.bench.latent_coding import SCHEMA as LATENT_CODING_SCHEMA
from tools.bench.memory import SCHEMA as MEMORY_SCHEMA
from tools.bench.segments import JOBS_SCHEMA, QUALITY_SCHEMA, WARM_SCHEMA
from tools.bench.segments import MEMORY_SCHEMA as SEGMENT_MEMORY_SCHEMA
from tools.bench.speed import SCHEMA as SPEED_SCHEMA
from tools.common import HELP_OPTIONS, RESULTS, load
from tools.device_check import targets
from tools.study import (
    ABLATION_SCHEMA,
    COMPENSATION_SCHEMA,
    CURVE_SCHEMA,
    FLOW_SCHEMA,
    GRID_ABLATION_SCHEMA,
    GRID_STEPS_SCHEMA,
    PRECISION_SCHEMA,
    SWEEP_SCHEMA,
)

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "tools" / "bench" / "published.json"
BUNNY_FULL = (1280, 720, 132)  # the clip the published results are on
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
GPU_BEGIN, GPU_END = "<!-- gpu:begin -->", "<!-- gpu:end -->"


def machine(result: dict) -> str:
    env = result["environment"]
    cpu = env["cpu"] + (f" ({env['cpu_capability']})" if "cpu_capability" in env else "")
    return f"{env['device']}, {cpu}, {env['threads']} threads, torch {env['torch']}"


def curve_section(result: dict) -> list[str]:
    model = result["model"]
    up = result["upsampling_2x_vs_true_320x180"]
    points = result["curve"]
    shown = [p for p in points if round(p["seconds"]) % 30 < 15 or p is points[-1]]
    return [
        f"**Fitting Bunny** ({result['clip']}; {model['num_layers']} layers, "
        f"{model['params']:,} parameters; {machine(result)}; "
        "`python -m tools.study curve`). PSNR of the whole clip against fitting time:",
        "",
        *markdown_table(
            ["seconds", "epochs", "PSNR (dB)"],
            ([f"{p['seconds']:.0f}", f"{p['epochs']:.1f}", f"{p['psnr']:.2f}"] for p in shown),
            "rrr",
        ),
        "",
        "**Upsampling.** The same fit rendered at 2x (320x180) against the true 320x180 frames "
        "(area-downscaled from the 720p source), beside classic upsampling of the 160x90 input:",
        "",
        *markdown_table(
            ["method", "PSNR at 320x180 (dB)"],
            [
                ["CoordFlow rendered at 2x", f"{up['coordflow_2x']:.2f}"],
                ["bilinear", f"{up['bilinear_2x']:.2f}"],
                ["nearest", f"{up['nearest_2x']:.2f}"],
            ],
            "lr",
        ),
    ]


def sweep_section(result: dict) -> list[str]:
    rows = [
        [r["label"], str(r["batch_size"]), f"{r['lr']:g}", f"{r['epochs']:.1f}", f"{r['psnr']:.2f}"]
        for r in result["rows"]
    ]
    return [
        f"**Fitting settings** (Bunny 160x90x32, xs preset, {result['fit']['seconds']:.0f} s of "
        f"fitting each; {machine(result)}; `python -m tools.study sweep`):",
        "",
        *markdown_table(["setting", "batch", "peak lr", "epochs", "PSNR (dB)"], rows, "lrrrr"),
    ]


def precision_section(result: dict) -> list[str]:
    rows = [
        [f"{r['seconds']:g}", r["precision"], str(r["batch_size"]), f"{r['epochs']:.1f}"]
        + [f"{r['psnr']:.2f}", f"{r['largest_loss_rise']:.2f}x"]
        for r in result["rows"]
    ]
    header = ["fitting (s)", "precision", "batch", "epochs", "PSNR (dB)", "largest loss rise"]
    return [
        f"**Precision and batch size** (Bunny 160x90x32, xs preset, equal fitting time; "
        f"{machine(result)}, which multiplies bfloat16 {result['bfloat16_speedup']:.1f}x as fast "
        "as float32; `python -m tools.study precision`). The loss column is the largest rise of "
        "the training loss between two 10-s reports (below 1: it never rose):",
        "",
        *markdown_table(header, rows, "rlrrrr"),
    ]


def ablation_section(result: dict) -> list[str]:
    rows = [
        [r["clip"], r["variant"], f"{r['model']['params']:,}", f"{r['epochs']:.1f}"]
        + [f"{r['psnr']:.2f} ± {r['psnr_std']:.2f}"]
        + [", ".join(f"{run['psnr']:.2f}" for run in r["runs"])]
        for r in result["rows"]
    ]
    header = ["clip", "variant", "parameters", "epochs", "PSNR (dB)", "per seed"]
    return [
        f"**Ablation** (the paper's Table 5; equal parameter budget and "
        f"{result['fit']['seconds']:.0f} s of fitting each, repeated with seeds "
        f"{', '.join(map(str, result['fit']['seeds']))}; {machine(result)}; "
        "`python -m tools.study ablation`). PSNR is the mean over the seeds, ± their standard "
        "deviation:",
        "",
        *markdown_table(header, rows, "llrrrl"),
    ]


def flow_section(result: dict) -> list[str]:
    rec = result["recovery"]
    rows = [[axis, f"{rec[axis]['correlation']:.4f}", f"{rec[axis]['slope']:.3f}"] for axis in "xy"]
    return [
        f"**The flow is real.** {result['clip']}; a 1-layer fit of "
        f"{result['model']['params']:,} parameters ({result['fit']['epochs']:.0f} epochs, "
        f"{result['psnr']:.2f} dB; `python -m tools.study flow`). The learned translation, "
        "in pixels, against the true motion:",
        "",
        *markdown_table(["axis", "correlation", "slope (1 = exact)"], rows, "lrr"),
    ]


def preset_section() -> list[str]:
    rows = []
    for name, budget in PRESETS.items():
        for width, height, frames in ((160, 90, 32), (1280, 720, 132)):
            config = config_for_preset(name, width, height, frames)
            model = CoordFlow(config)
            total = count_parameters(model)
            share = count_parameters(model.colour) / total
            rows.append(
                [name, f"{budget:,}", f"{width}x{height}x{frames}"]
                + [f"{config.colour_depth} x {config.colour_width}"]
                + [f"{config.xy_octaves} / {config.t_octaves}", f"{total:,}", f"{share:.1%}"]
            )
    header = ["preset", "budget", "clip", "colour net (depth x width)", "octaves xy / t"]
    header += ["parameters", "colour share"]
    return [
        "**Presets** (2 layers; widths follow the budget, octaves the clip; `--params N` sets "
        "any other budget):",
        "",
        *markdown_table(header, rows, "lrlllrr"),
    ]


def speed_section(result: dict) -> list[str]:
    settings, ceilings = result["settings"], result["ceiling_gflops"]
    command = settings.get("command", "python -m tools.bench.speed")
    mode = "--quick" if settings["quick"] else "full run"
    if "fit_seconds" in settings:
        mode = f"{settings['fit_seconds']:g} s a fit, {settings['render_seconds']:g} s a size"
    ceiling_text = " and ".join(f"{name} {value:.0f}" for name, value in ceilings.items())
    fit_rows = []
    for row in result["fit"]:
        # Fitting counts three passes (forward, two backward products): a third is forward.
        intensity = row["flops_per_sample"] / 3 / row["activation_bytes_per_sample"]
        fit_rows.append(
            [row["preset"], f"{row['params']:,}", f"{row['flops_per_sample'] / 1e6:.2f}M"]
            + [f"{intensity:.0f}", row["precision"], f"{row['samples_per_second']:,}"]
            + [f"{row['gflops']:.1f}", f"{row['fraction_of_ceiling']:.0%}"]
        )
    fit_header = ["preset", "parameters", "fit FLOPs per sample", "intensity", "precision"]
    fit_header += ["fitting samples/s", "fitting GFLOP/s", "fitting, share of ceiling"]
    render_rows = []
    for preset in dict.fromkeys(row["preset"] for row in result["render"]):
        renders = {r["size"]: r for r in result["render"] if r["preset"] == preset}
        gflops = " / ".join(f"{r['gflops']:.0f}" for r in renders.values())
        shares = " / ".join(f"{r['fraction_of_ceiling']:.0%}" for r in renders.values())
        render_rows.append(
            [preset, renders["720p"]["precision"], f"{renders['720p']['fps']:.3g}"]
            + [f"{renders['1080p']['fps']:.3g}", gflops, shares]
        )
    render_header = ["preset", "rendering precision", "fps 720p", "fps 1080p"]
    render_header += ["GFLOP/s 720p / 1080p", "rendering, share of ceiling"]
    lines = [
        f"**Speed** ({machine(result)}; matmul ceilings {ceiling_text} GFLOP/s measured in the "
        f"same run; `auto` fits in {settings['auto_precision']} here; "
        f"`{command}`, {mode}). Each share is of the ceiling in the "
        "precision of the products. Fitting counts forward and backward FLOPs per pixel sample, "
        "rendering forward FLOPs per pixel (`nvcodec/model/flops.py`). Intensity is forward FLOPs "
        "per byte of float32 activations that a sample's forward pass writes (each is read back at "
        "least once); below about 100 the elementwise passes, not the products, set the pace "
        "on a CPU:",
        "",
        *markdown_table(fit_header, fit_rows, "lrrrlrrr"),
        "",
        *markdown_table(render_header, render_rows, "llrrrr"),
    ]
    if not result["encode"]:
        return lines
    encode_rows = [
        [row["precision"], f"{row['fit_budget_seconds']:g}", f"{row['wall_seconds']:.1f}"]
        + [f"{row['epochs']:.1f}", f"{row['bpp']:.3f}", f"{row['psnr']:.2f}"]
        + [f"{row['psnr_unquantized']:.2f}"]
        for row in result["encode"]
    ]
    encode_header = ["precision", "fitting budget (s)", "wall time (s)", "epochs", "bpp"]
    encode_header += ["PSNR (dB)", "before quantization"]
    return [
        *lines,
        "",
        f"**Encode time to quality** ({settings['encode_clip']}; complete `nvcodec.encode` runs "
        "of the xs preset, wall time from frames in to file out, PSNR of the decoded file):",
        "",
        *markdown_table(encode_header, encode_rows, "lrrrrrr"),
    ]


def compensation_section(result: dict) -> list[str]:
    model, fit = result["model"], result["fit"]
    unquantized = result["psnr_unquantized"]
    rows = [
        [str(row["qmax"]), f"{row['compensated']['bits_per_parameter']:.2f}"]
        + [f"{row['plain']['psnr'] - unquantized:+.2f} dB"]
        + [f"{row['compensated']['psnr'] - unquantized:+.2f} dB"]
        for row in result["levels"]
    ]
    header = ["qmax", "bits per parameter", "plain quantization", "with compensation"]
    return [
        f"**Quantization with compensation** ({result['clip']}; {model['params']:,} parameters "
        f"fitted {fit['epochs']:g} epochs, {unquantized:.2f} dB before "
        f"quantization; {machine(result)}; `python -m tools.study compensation`). One qmax for "
        f"every linear map (flow nets included), then {fit['steps_per_round']} fine-tuning steps "
        "after each round (the flow maps with the first colour map, then one colour map each):",
        "",
        *markdown_table(header, rows, "rrrr"),
    ]


def memory_section(result: dict) -> list[str]:
    clip = result["clip"]
    stages = "; ".join(
        f"after {row['stage']} {row['peak_rss_gib']:.1f} GiB" for row in result["stages"]
    )
    return [
        f"**Memory** ({machine(result)}; `python -m tools.bench.memory`): a "
        f"{clip['width']}x{clip['height']}, {clip['frames']}-frame clip "
        f"({result['clip_gib']:.1f} GiB as uint8 RGB) through every stage of an encode: the "
        f"sampler, the xs preset fitted for {result['fit_seconds']:g} s, rate control, "
        f"quantization with compensation and the file, then {result['render_frames']} frames "
        f"rendered at full size. Peak resident memory of the process: {stages}.",
    ]


def segments_quality_section(result: dict) -> list[str]:
    settings = result["settings"]

    def cell(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    return [
        f"**Segments** ({settings['clip']}, a {settings['bpp']:g} bpp target and "
        f"{settings['minutes_per_fit']:g} minutes per fit for each encode; {machine(result)}; "
        "`python -m tools.bench.segments quality`). PSNR of all frames and of the frames "
        "either side of each boundary; frame-to-frame change of the decoded clip over the "
        "source's, at the boundaries and elsewhere (1.00: as smooth as the source):",
        "",
        *markdown_table(
            ["segments", "length (s)", "overlap", "bpp", "PSNR (dB)", "at boundaries (dB)",
             "change at boundaries", "change elsewhere", "epochs"],
            (
                # Rows measured before segments could overlap have no "overlap".
                [str(r["segments"]), f"{r['segment_seconds']:g}", str(r.get("overlap", 0)),
                 f"{r['bpp']:.4f}",
                 f"{r['psnr']:.2f}", cell(r["psnr_boundary_frames"], 2),
                 cell(r["change_ratio_at_boundaries"], 2), f"{r['change_ratio_elsewhere']:.2f}",
                 f"{r['epochs']:.1f}"]
                for r in result["rows"]
            ),
            "rrrrrrrrr",
        ),
    ]  # fmt: skip


def segments_jobs_section(result: dict) -> list[str]:
    settings = result["settings"]
    one_core, one_job, two_jobs = (row["wall_seconds"] for row in result["rows"])
    return [
        f"**Parallel segments** ({settings['clip']}, {result['rows'][0]['segments']} segments "
        f"of {settings['segment_seconds']:g} s, {settings['epochs']:g} "
        f"epoch{'' if settings['epochs'] == 1 else 's'} each, the best of "
        f"{settings['repeats']} interleaved runs; {machine(result)}; "
        "`python -m tools.bench.segments jobs`): one job on one core "
        f"{one_core:.0f} s, one job on {settings['cores']} cores (torch's threads) "
        f"{one_job:.0f} s, `--jobs 2` {two_jobs:.0f} s: {result['speedup']:.2f}x one job on "
        f"all cores, {one_core / two_jobs:.2f}x one core. Two jobs can gain over one only what "
        f"torch's own threads leave unused ({one_core / one_job:.2f}x from "
        f"{settings['cores']} threads).",
    ]


def segments_memory_section(result: dict) -> list[str]:
    settings = result["settings"]
    peaks = ", ".join(
        f"{row['seconds']:g} s ({row['frames']} frames) {row['peak_gib']:.2f} GiB"
        for row in result["rows"]
    )
    return [
        f"**Memory of segmented encodes** ({settings['size']} at {settings['fps']} fps from an "
        f"{settings['input']}, {settings['segment_seconds']:g} s segments, "
        f"`--jobs {settings['jobs']}`, {settings['epochs']:g} epochs; {machine(result)}; "
        "`python -m tools.bench.segments memory`): peak resident memory of the encode and its "
        f"workers: {peaks}.",
    ]


def grid_ablation_section(result: dict) -> list[str]:
    settings = result["settings"]
    base = result["rows"][0]
    rows = [
        [row["variant"], f"{row['bytes']:,}", f"{row['bpp']:.4f}", f"{row['psnr']:.2f}"]
        + [f"{100 * (row['bytes'] / base['bytes'] - 1):+.1f}%"]
        + [f"{row['psnr'] - base['psnr']:+.2f}", f"{row['fit_seconds']:.0f}"]
        for row in result["rows"]
    ]
    header = ["fit", "bytes", "bpp", "PSNR (dB)", "bytes vs first", "dB vs first", "fit (s)"]
    return [
        f"**The grid model's fit, one piece at a time** ({result['clip']}, the default grid "
        f"model of {result['model']['params']:,} parameters, lambda {settings['rate_lambda']:g}, "
        f"{settings['epochs']:g} epochs each; {machine(result)}; "
        "`python -m tools.study grid-ablation`). Each row changes one thing against the first; "
        "the seeds show the spread a change has to beat. Every file but the last stores the "
        "weights at qmax 127, without the encoder's step search and compensation, so that only "
        "the fit differs; the last is the first row's fit as `cfv encode` stores it:",
        "",
        *markdown_table(header, rows, "lrrrrrr"),
    ]


def grid_steps_section(result: dict) -> list[str]:
    rows = [
        [
            f"{row['rate_lambda']:g}",
            row["price"],
            f"{row['db_per_bpp']:g}",
            " ".join(map(str, row["qmax"])),
            f"{row['bytes']:,}",
            f"{row['bpp']:.4f}",
            f"{row['psnr']:.2f}",
        ]
        for row in result["rows"]
    ]
    header = ["lambda", "price", "dB per bpp", "qmax per map", "bytes", "bpp", "PSNR (dB)"]
    return [
        f"**The grid model's weight steps** ({result['clip']}, the default grid model, "
        f"{result['settings']['epochs']:g} epochs per fit; {machine(result)}; "
        "`python -m tools.study grid-steps`). Each fit is stored twice, its weights' steps "
        "searched at the former constant price of 40 dB per bit per pixel saved and at the "
        "price its lambda sets, then compensated as `cfv encode` does:",
        "",
        *markdown_table(header, rows, "rlrlrrr"),
    ]


def latent_coding_section(result: dict) -> list[str]:
    settings = result["settings"]
    points = "; ".join(
        f"lambda {row['setting']['rate_lambda']:g}: {row['latent_bytes']:,} bytes against "
        f"{row['latent_bytes_without_previous_frame']:,} without the previous frame "
        f"({_change(row['latent_bytes'], row['latent_bytes_without_previous_frame'])}) and "
        f"{row['latent_bytes_one_model']:,} with one model "
        f"({_change(row['latent_bytes'], row['latent_bytes_one_model'])})"
        for row in result["rows"]
    )
    return [
        f"**Context coding of the latents** (the grid files of `{settings['bench']}`, their "
        "latents recoded by context without the previous frame as format 1.4 coded them, and "
        "with one model per grid as format 1.3 did; "
        f"{machine(result)}; `python -m tools.bench.latent_coding WORKDIR`): the latents' "
        f"bytes as coded against the two, {points}. BD-rate RGB against "
        f"{settings['anchor']}: {result['context']:+.1f}% as coded, "
        f"{result['without_previous_frame']:+.1f}% without the previous frame, "
        f"{result['one_model']:+.1f}% with one model per grid, the fits the same.",
    ]


def _change(size: int, reference: int) -> str:
    return f"{100 * (size / reference - 1):+.1f}%"


def segments_warm_section(result: dict) -> list[str]:
    settings = result["settings"]
    rows = {(row["budget_seconds"], row["start"]): row for row in result["rows"]}
    pairs = "; ".join(
        f"{budget:g} s: from scratch {rows[budget, 'cold']['bpp']:.4f} bpp "
        f"{rows[budget, 'cold']['psnr']:.2f} dB, warm {rows[budget, 'warm']['bpp']:.4f} bpp "
        f"{rows[budget, 'warm']['psnr']:.2f} dB"
        for budget in sorted({budget for budget, _ in rows})
    )
    return [
        f"**Warm starts** ({settings['clip']}, {settings['segment_seconds']:g} s segments "
        f"overlapping by {settings['overlap']} frames, {settings['model']}; {machine(result)}; "
        "`python -m tools.bench.segments warm`): a segment fitted from scratch against one "
        f"started from the decoded model of the segment before it, at the same budget: {pairs}.",
    ]


def rd_section(result: dict) -> list[str]:
    rd = parse_result(result, "rd result")
    clip = rd.clip
    shown = [c for c in rd.curves if c.source == MEASURED or c.codec == NVCODEC]
    nvcodec = rd.curve(NVCODEC)
    effort = (
        ""
        if nvcodec is None
        else ", ".join(
            f"{v:g} {k}" for k, v in nvcodec.settings.items() if k in ("epochs", "minutes") and v
        )
    )
    model = None if nvcodec is None else nvcodec.settings.get("model")
    layers = None if nvcodec is None else nvcodec.settings.get("layers")
    title = "Rate-distortion" + ("" if model is None else f", the {model} model")
    title += "" if model is None or layers is None else f" with {layers} layers"
    lines = [
        f"**{title}** ({clip.path} frames {clip.frames[0]}:{clip.frames[1]} at "
        f"{clip.size[0]}x{clip.size[1]}; nvcodec fitted for {effort} per point; "
        f"{machine(result)}; `{rd.command}`). The classic "
        f"codecs get and give raw planes converted by `nvcodec.io.colour` ({rd.colour}). bpp "
        "from the bytes of the .cfv file and of the packets; PSNR from the MSE over all pixels "
        "of all frames, on RGB and on the 4:2:0 Y, U and V planes (nvcodec's RGB converted the "
        "same way); PSNR YUV = (6 Y + U + V) / 8; MS-SSIM on RGB:",
        "",
        *points_table(rd, shown),
        "",
        *[f"- {note}" for note in rd.notes],
        "",
        f"Bjøntegaard deltas against {rd.anchor} (`bjontegaard`, PCHIP unless marked; "
        "negative BD-rate and positive BD-PSNR are better):",
        "",
        *bd_table(rd, [pair for pair in anchor_pairs(rd) if rd.curve(pair[0]) in shown]),
    ]
    reasons = missing_bd_reasons(rd, [(NVCODEC, rd.anchor)])
    if reasons:
        lines += ["", *reasons]
    lines += colour_change_lines(rd)
    published = "Published, not measured (`tools/bench/published.json`):"
    return [*lines, "", published, "", *published_lines()]


def colour_change_lines(rd: RdResult) -> list[str]:
    """How far the anchor moved from an earlier result's colour path (a curve compared with
    `cfv bench --compare`), and what that does to nvcodec's BD-rate; nothing without one."""
    earlier = next((c for c in rd.curves if c.codec.startswith(f"{rd.anchor} (")), None)
    if earlier is None:
        return []
    moved = rd.bd_of(earlier.codec, rd.anchor, "psnr_rgb", "pchip")
    rates = {
        (anchor, method): rd.bd_of(NVCODEC, anchor, "psnr_rgb", method).bd_rate_percent
        for anchor in (earlier.codec, rd.anchor)
        for method in ("pchip", "cubic")
    }
    return [
        "",
        f"The earlier {earlier.codec} curve (swscale's conversions) lies "
        f"{-moved.bd_quality:.2f} dB below this one at equal rate (BD-PSNR RGB, PCHIP; BD-rate "
        f"{moved.bd_rate_percent:+.1f}%). Against it nvcodec's BD-rate RGB was "
        f"{rates[earlier.codec, 'pchip']:+.1f}% (PCHIP; cubic "
        f"{rates[earlier.codec, 'cubic']:+.1f}%); against the exact colour path it is "
        f"{rates[rd.anchor, 'pchip']:+.1f}% (cubic {rates[rd.anchor, 'cubic']:+.1f}%).",
    ]


def published_lines() -> list[str]:
    """The published NeRV-family results on Bunny (not measured here), as a markdown table."""
    published = json.loads(PUBLISHED.read_text())
    source = published["source"]
    width, height, frames = BUNNY_FULL
    sizes = published["sizes"]
    rows = [
        [row["method"], *(f"{value:.2f}" for value in row["psnr_by_size"])]
        for row in published["methods"]
    ]
    bpp = [f"{8 * size / (width * height * frames):.4f}" for size in sizes]
    rows.append(["*bpp at 8 bits per parameter*", *bpp])
    header = ["method", *(f"{size / 1e6:g}M params" for size in sizes)]
    return [
        f"From *{source['title']}* ({source['code']}), {source['table']}; {source['clip']}, "
        f"models of each size trained {published['size_epochs']} epochs. PSNR of unquantized "
        "models in dB; the paper gives no file sizes. The last row is derived here, not "
        "published: what the weights alone would take at 8 bits each, before entropy coding.",
        "",
        *markdown_table(header, rows, "l" + "r" * len(sizes)),
    ]


def strip_file(result: dict) -> str:
    """The PNG an application's result describes in its "strip" entry."""
    return result["strip"].split(":", 1)[0]


def representation_of(fit: dict) -> tuple[str, str]:
    """How a section names the model an application fitted, and the command's flag for it."""
    if fit.get("model") == "grid":
        return "the grid model, ", " --model grid"
    return "the MLP, ", ""


def upsampling_section(result: dict) -> list[str]:
    fit = result["rows"][0]["fit"]
    model, flag = representation_of(fit)
    small, large = result["rows"][0]["fitted_size"], result["rows"][0]["true_size"]
    rows = [
        [r["clip"], f"{r['psnr_coordflow']:.2f}", f"{r['psnr_bilinear']:.2f}"]
        + [f"{r['psnr_nearest']:.2f}", f"{r['fit']['psnr_on_fitted_frames']:.2f}"]
        for r in result["rows"]
    ]
    header = ["clip", "CoordFlow (dB)", "bilinear (dB)", "nearest (dB)"]
    header += [f"fit at {small[0]}x{small[1]} (dB)"]
    return [
        f"**Upsampling, the paper's Figure 5 protocol.** Fitted at {small[0]}x{small[1]} (the "
        f"true frames area-downscaled {result['settings']['factor']}x), rendered at "
        f"{large[0]}x{large[1]} and compared with the true frames, beside classic upsampling of "
        f"the same small clip ({result['settings']['frames']} frames, {model}{fit['params']:,} "
        f"parameters, {fit['epochs']:g} epochs; {machine(result)}; "
        f"`python -m tools.applications upsampling{flag}`):",
        "",
        *markdown_table(header, rows, "lrrrr"),
    ]


def interpolation_section(result: dict) -> list[str]:
    fit = result["rows"][0]["fit"]
    model, flag = representation_of(fit)
    size = result["settings"]["size"]
    rows = [
        [r["clip"], f"{r['psnr_coordflow']:.2f}", f"{r['psnr_blend']:.2f}"]
        + [f"{r['psnr_repeat']:.2f}", f"{r['fit']['psnr_on_fitted_frames']:.2f}"]
        for r in result["rows"]
    ]
    header = ["clip", "CoordFlow (dB)", "mean of the two neighbours (dB)", "previous frame (dB)"]
    header += ["fit on the even frames (dB)"]
    return [
        f"**Frame interpolation.** Fitted on the even frames of {result['settings']['frames']} "
        f"at {size[0]}x{size[1]}; each odd frame rendered at its half-frame time, against the "
        f"true frame ({model}{fit['params']:,} parameters, {fit['epochs']:g} epochs; "
        f"{machine(result)}; `python -m tools.applications interpolation{flag}`):",
        "",
        *markdown_table(header, rows, "lrrrr"),
    ]


def stabilization_section(result: dict) -> list[str]:
    settings, fit = result["settings"], result["fit"]
    model, flag = representation_of(fit)
    rows = [
        [name, f"{row['rms_deviation_px']:.2f}", f"{row['rms_second_difference_px']:.2f}"]
        for name, row in result["jitter"].items()
    ]
    header = ["path", "RMS deviation from the smooth pan", "RMS second difference"]
    return [
        f"**Stabilization.** A {settings['clip']} (band-limited, periods of about 6 frames and "
        f"up), fitted with {model}{fit['params']:,} parameters, for {fit['epochs']:g} epochs "
        f"({fit['psnr_on_fitted_frames']:.2f} dB), then decoded with `--stabilize "
        f"{settings['sigma_frames']:g}` ({machine(result)}; "
        f"`python -m tools.applications stabilization{flag}`). Paths are in pixels; *measured* "
        "ones come from phase correlation of neighbouring frames:",
        "",
        *markdown_table(header, rows, "lrr"),
        "",
        f"![stabilization](tools/results/{strip_file(result)})",
    ]


def denoising_section(result: dict) -> list[str]:
    settings, fit = result["settings"], result["fit"]
    model, flag = representation_of(fit)
    rows = [
        ["noisy input", f"{result['psnr_noisy_vs_clean']:.2f}"],
        ["CoordFlow fit of the noisy input", f"{result['psnr_fit_vs_clean']:.2f}"],
    ]
    return [
        f"**Denoising.** {settings['clip'].capitalize()} with Gaussian noise of sigma "
        f"{settings['noise_sigma']:g}/255 added, fitted with {model}{fit['params']:,} "
        f"parameters, for {fit['epochs']:g} epochs ({machine(result)}; "
        f"`python -m tools.applications denoising{flag}`):",
        "",
        *markdown_table(["frames", "PSNR against the clean frames (dB)"], rows, "lr"),
        "",
        f"The fit is {result['psnr_fit_vs_noisy']:.2f} dB from the noisy frames it was given.",
    ]


def segmentation_section(result: dict) -> list[str]:
    settings, fit = result["settings"], result["fit"]
    model, flag = representation_of(fit)
    row = [f"{result['iou']:.3f}", f"{result['iou_per_frame_min']:.3f}"]
    row += [
        f"{result['iou_per_frame_max']:.3f}",
        ", ".join(f"{a:.3f}" for a in result["mean_alpha"]),
    ]
    header = ["IoU, whole clip", "worst frame", "best frame", "mean alpha per layer"]
    return [
        f"**Segmentation.** A {settings['clip']}, both with the same texture statistics, so "
        f"only motion tells them apart; {model}{fit['params']:,} parameters, "
        f"{fit['epochs']:g} epochs ({fit['psnr_on_fitted_frames']:.2f} dB; {machine(result)}; "
        f"`python -m tools.applications segmentation{flag}`). The argmax of the alphas against "
        "the disc's true mask, with the better of the two layer assignments:",
        "",
        *markdown_table(header, [row], "rrrl"),
        "",
        "Frames, `--alpha-map`, and the background layer alone (`--layer "
        f"{1 - result['object_layer']}`), which paints the background the disc hides:",
        "",
        f"![segmentation](tools/results/{strip_file(result)})",
    ]


RENDERERS: dict[str, Callable[[dict], list[str]]] = {
    CURVE_SCHEMA: curve_section,
    ABLATION_SCHEMA: ablation_section,
    FLOW_SCHEMA: flow_section,
    COMPENSATION_SCHEMA: compensation_section,
    SWEEP_SCHEMA: sweep_section,
    PRECISION_SCHEMA: precision_section,
    UPSAMPLING_SCHEMA: upsampling_section,
    INTERPOLATION_SCHEMA: interpolation_section,
    STABILIZATION_SCHEMA: stabilization_section,
    DENOISING_SCHEMA: denoising_section,
    SEGMENTATION_SCHEMA: segmentation_section,
    SPEED_SCHEMA: speed_section,
    MEMORY_SCHEMA: memory_section,
    QUALITY_SCHEMA: segments_quality_section,
    JOBS_SCHEMA: segments_jobs_section,
    SEGMENT_MEMORY_SCHEMA: segments_memory_section,
    WARM_SCHEMA: segments_warm_section,
    LATENT_CODING_SCHEMA: latent_coding_section,
    GRID_ABLATION_SCHEMA: grid_ablation_section,
    GRID_STEPS_SCHEMA: grid_steps_section,
    RD_SCHEMA: rd_section,
    RD_SCHEMA_V1: rd_section,
}
"""The measurements section of each result file's schema (its "schema" key)."""

SECTIONS = (
    "bunny_160x90x32_xs_curve",
    "ablation_160x90x32",
    "flow_recovery",
    "compensation_160x90x32",
    "fit_sweep_160x90x32",
    "precision_160x90x32",
    "applications_upsampling",
    "applications_upsampling_grid",
    "applications_interpolation",
    "applications_interpolation_grid",
    "applications_stabilization",
    "applications_stabilization_grid",
    "applications_denoising",
    "applications_denoising_grid",
    "applications_segmentation",
    "applications_segmentation_grid",
    "speed_cpu",
    "gpu/speed",
    "memory_cpu",
    "segments_quality_cpu",
    "segments_quality_overlap_cpu",
    "segments_jobs_cpu",
    "segments_memory_cpu",
    "segments_warm_cpu",
    "rd_bunny_320x180",
    "rd_bunny_320x180_grid_rate4",
    "rd_bunny_320x180_grid_rate4_repeat",
    "rd_bunny_320x180_grid_layers2_rate4",
    "rd_bunny_320x180_grid_xeon",
    "rd_bunny_320x180_grid_time2",
    "rd_bunny_320x180_grid_layers4",
    "rd_bunny_320x180_grid_layers4_repeat",
    "rd_bunny_320x180_grid_layers3",
    "rd_bunny_320x180_grid_avx512",
    "rd_bunny_320x180_grid",
    "rd_bunny_320x180_grid_repeat",
    "rd_bunny_320x180_grid_adamw",
    "rd_bunny_320x180_grid_xyt4",
    "latent_coding_bunny_320x180",
    "grid_ablation_bunny_320x180x132",
    "grid_steps_bunny_320x180x132",
)
"""The result files docs/measurements.md shows, in its order; one not there yet is left out."""


def section(name: str, result: dict) -> list[str]:
    """The measurements section of the result file `name`, rendered as its schema says."""
    schema = result.get("schema")
    renderer = RENDERERS.get(schema)
    if renderer is None:
        raise click.ClickException(
            f"tools/results/{name}.json: no measurements section for schema {schema!r} "
            f"(known: {', '.join(sorted(RENDERERS))})"
        )
    return renderer(result)


def render_block() -> str:
    lines = [BEGIN, "", *preset_section(), ""]
    for name in SECTIONS:
        result = load(name)
        if result is None and name.startswith("speed_"):
            name += "_quick"
            result = load(name)
        if result is not None:
            lines += section(name, result) + [""]
    return "\n".join(lines + [END])


def gpu_block() -> str:
    """The GPU check's targets against the committed results of its last run
    (tools/results/gpu/, from `python -m tools.device_check`)."""
    device = load("gpu/device")
    if device is None:
        lines = ["No GPU has run the check yet:"]
    else:
        gpu = device["gpus"][0]
        lines = [
            f"Measured on {gpu['name']} ({gpu['memory_gib']:g} GiB), torch {device['torch']}, "
            f"CUDA {device['cuda']}, {device['environment']['date']}:"
        ]
    rows = [
        [row["target"], row["goal"], row["measured"] or "-", row["status"]]
        for row in targets(RESULTS / "gpu")
    ]
    lines += ["", *markdown_table(["target", "goal", "measured", "status"], rows, "llll")]
    return "\n".join([GPU_BEGIN, "", *lines, "", GPU_END])


BLOCKS = (
    (ROOT / "docs" / "measurements.md", BEGIN, END, render_block),
    (ROOT / "README.md", GPU_BEGIN, GPU_END, gpu_block),
)
"""Each generated block: the page it is in, its markers, and what renders it."""


def updated_pages() -> dict[Path, tuple[str, str]]:
    """Each page's text as it is and as the committed results make it."""
    pages: dict[Path, tuple[str, str]] = {}
    for page, begin, end, block in BLOCKS:
        text, updated = pages.get(page, (page.read_text(), None))
        updated = text if updated is None else updated
        if begin not in updated or end not in updated:
            raise click.ClickException(
                f"{page.relative_to(ROOT)} lacks the {begin} ... {end} markers"
            )
        head, rest = updated.split(begin, 1)
        pages[page] = (text, head + block() + rest.split(end, 1)[1])
    return pages


@click.command(context_settings=HELP_OPTIONS)
@click.option("--check", is_flag=True, help="Only check that the pages are up to date.")
def main(check: bool) -> None:
    pages = updated_pages()
    stale = [page for page, (text, updated) in pages.items() if text != updated]
    if check:
        for page in stale:
            click.echo(f"{page.relative_to(ROOT)} is stale: run python -m tools.report", err=True)
        sys.exit(1 if stale else 0)
    for page in stale:
        page.write_text(pages[page][1])
    click.echo(f"tables regenerated ({len(stale)} of {len(pages)} pages changed)")


if __name__ == "__main__":
    main()
