"""The `cfv` command: encode a video to .cfv, decode it at any size and frame rate, describe it."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import sys
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nvcodec.errors import (
    CfvError,
    CfvVersionError,
    FileError,
    NvcodecError,
    NvcodecWarning,
    SettingsError,
)
from nvcodec.io.raw import RAW_PIXEL_FORMATS
from nvcodec.io.video import OUTPUT_FORMATS, STDIO
from nvcodec.model.canvas import parse_fps
from nvcodec.model.presets import PRESETS
from nvcodec.option_spellings import CfvCommand, RenamedOption
from nvcodec.settings import (
    CPU_BATCH_SIZE,
    CUDA_BATCH_SIZE,
    DEFAULT_LAMBDA,
    DEFAULT_LAYERS,
    DEFAULT_OVERLAP_FRAMES,
    DEFAULT_REPRESENTATION,
    DEFAULT_SEGMENT_SECONDS,
    DEVICE_CHOICES,
    GRID_CPU_BATCH_SIZE,
    ONE_SEGMENT_SECONDS,
    PRECISION_CHOICES,
    REPRESENTATIONS,
    device_name,
    frame_range,
    frame_size,
)

if TYPE_CHECKING:  # the commands import the codec itself, and torch with it, only when run
    from nvcodec.api import EncodeSummary
    from nvcodec.bitstream.cfv import CfvInfo
    from nvcodec.model.config import ModelConfig

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CORRUPT = 3
EXIT_VERSION = 4
EXIT_INTERRUPTED = 130

HELP = """CoordFlow neural video codec: fit a network to a video, store it as a small .cfv file,
and render that file at any resolution and frame rate.

\b
  cfv encode input.mp4 out.cfv        fit and store (see cfv encode --help)
  cfv decode --scale 2 out.cfv        render to out.cfv.mp4 at twice the size
  cfv decode out.cfv - | ffplay -     stream y4m to another program
  cfv info out.cfv                    describe a .cfv file
  cfv bench clip.mp4                  RD curves against x265 and others

\b
Exit codes:
  0    success
  1    error: missing or unreadable input, not a video, no such CUDA device,
       an output that exists without -y or cannot be written
  2    usage error: unknown, malformed, out-of-range or conflicting options,
       or a size or frame range the input cannot give
  3    corrupt or truncated .cfv file
  4    the .cfv file needs a newer version of cfv
  130  interrupted (Ctrl-C); 143 for SIGTERM, 129 for SIGHUP (128 + the
       signal); no partial output is left behind
"""


# click 8.2+ raises this for a bare `cfv`; its message is the help text, not one line.
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class CfvGroup(click.Group):
    """Maps every failure to one line on stderr and its documented exit code."""

    command_class = CfvCommand

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", NvcodecWarning)
                warnings.showwarning = _show_warning
                code = super().main(*args, **kwargs)
        except (click.exceptions.Abort, click.ClickException, NvcodecError, OSError) as exc:
            exit_code, message = _failure(exc)
            click.echo(message, err=True)
            sys.exit(exit_code)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line to print for an exception that ends the command."""
    if isinstance(exc, NO_ARGS_IS_HELP):
        return EXIT_USAGE, exc.format_message()
    if isinstance(exc, click.UsageError):
        command = f"{exc.ctx.command_path} --help" if exc.ctx else "cfv --help"
        return EXIT_USAGE, f"cfv: {exc.format_message()} (see {command})"
    if isinstance(exc, click.ClickException):
        return EXIT_ERROR, f"cfv: {exc.format_message()}"
    if isinstance(exc, click.exceptions.Abort):
        if isinstance(exc.__cause__, Terminated):
            number = exc.__cause__.signal_number
            return 128 + number, f"cfv: interrupted by {signal.Signals(number).name}"
        return EXIT_INTERRUPTED, "cfv: interrupted"
    if isinstance(exc, OSError):
        return EXIT_ERROR, f"cfv: {exc.filename or ''}: {exc.strerror or exc}"
    if isinstance(exc, CfvVersionError):
        return EXIT_VERSION, f"cfv: {exc}"
    if isinstance(exc, CfvError):
        return EXIT_CORRUPT, f"cfv: corrupt .cfv file: {exc}"
    return (EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR), f"cfv: {exc}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"cfv: warning: {message}", err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Python runs next, so that the clean-up of Ctrl-C runs
    (temporary outputs removed) and the exit code is 128 + the signal's number."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


def _terminate(signal_number: int, frame: object) -> None:
    for number in (signal.SIGTERM, signal.SIGHUP):  # a second one must not cut the clean-up
        signal.signal(number, signal.SIG_IGN)
    raise Terminated(signal_number)


class SettingType(click.ParamType):
    """An option parsed by one of `nvcodec.settings`' checks, so the CLI and the API agree."""

    parse: Callable[[str], object]

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except SettingsError as exc:
            self.fail(str(exc), param, ctx)


class FrameRange(SettingType):
    """A:B (frames A to B-1, numbered from 0), A: (to the end) or :B."""

    name = "A:B"
    parse = staticmethod(frame_range)


class FrameSize(SettingType):
    """WxH in pixels, such as 1280x720."""

    name = "WxH"
    parse = staticmethod(frame_size)


class FrameRate(SettingType):
    """A frame rate: a number (25, 29.97) or a ratio (30000/1001)."""

    name = "FPS"
    parse = staticmethod(parse_fps)


class DeviceName(SettingType):
    """auto, cpu, cuda or cuda:N."""

    name = "DEVICE"
    parse = staticmethod(device_name)


DEVICE = click.option(
    "--device",
    type=DeviceName(),
    default="auto",
    show_default=True,
    help=f"Where to compute: {DEVICE_CHOICES}; auto takes CUDA when present.",
)
THREADS = click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="CPU threads of torch's operations [default: torch's, one per core].",
)
LAYER = click.IntRange(min=0)
OVERWRITE = click.option("-y", "--overwrite", is_flag=True, help="Overwrite existing outputs.")


def representation_option(
    default: str = DEFAULT_REPRESENTATION,
    help: str = "Colour representation: latent grids, or Fourier features into an MLP.",
) -> Callable:
    """`--model grid|mlp`, as `cfv encode`, `cfv bench` and the tools take it."""
    return click.option(
        "--model",
        "representation",
        type=click.Choice(REPRESENTATIONS),
        default=default,
        show_default=True,
        help=help,
    )


def precision_option(help: str) -> Callable:
    """`--precision auto|float32|bfloat16`: of the fitting's products for `cfv encode`, of the
    rendering's for `cfv decode`."""
    return click.option(
        "--precision",
        type=click.Choice(PRECISION_CHOICES),
        default="auto",
        show_default=True,
        help=help,
    )


QUIET = click.option("--quiet", is_flag=True, help="No progress and no summary.")
QUIET_SHORT = click.option(
    "-q",
    cls=RenamedOption,
    is_flag=True,
    replaced_by="quiet",
    reason="to ffmpeg and x264 users -q sets the quality",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")


def _print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_report())
        ctx.exit()


@click.group(cls=CfvGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_versions,
    help="Show the versions of cfv, of the .cfv format and of torch, PyAV and FFmpeg.",
)
def cli() -> None:
    pass


def version_report() -> str:
    """cfv's version, the .cfv versions it writes and reads, and those of the libraries that
    do the work; torch is described from its installed files, not imported."""
    import av

    import nvcodec
    from nvcodec.bitstream.cfv import VERSION

    libavcodec = ".".join(str(part) for part in av.library_versions["libavcodec"])
    return "\n".join(
        [
            f"cfv {nvcodec.__version__}",
            f".cfv format: writes {VERSION.major}.{VERSION.minor}, reads {VERSION.major}.0 to "
            f"{VERSION.major}.{VERSION.minor} (reader version {VERSION.major})",
            _torch_report(),
            f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info} (libavcodec {libavcodec})",
        ]
    )


def _torch_report() -> str:
    """torch's version and CUDA: the CUDA version its build names (torch/version.py) and the
    NVIDIA devices the driver lists, read without the seconds an import of torch takes."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return "torch not installed"
    text = Path(spec.origin).with_name("version.py").read_text()
    version = re.search(r"^__version__\s*=\s*'([^']*)'", text, re.M)
    cuda = re.search(r"^cuda\b[^=]*=\s*'([^']*)'", text, re.M)
    gpus = Path("/proc/driver/nvidia/gpus")
    devices = len(list(gpus.iterdir())) if gpus.is_dir() else 0
    if cuda is None:
        state = "no CUDA device"
    elif devices:
        state = f"CUDA {cuda.group(1)}, {devices} device(s)"
    else:
        state = f"CUDA {cuda.group(1)} build, no CUDA device"
    return f"torch {version.group(1) if version else '?'} ({state})"


@cli.command()
@click.argument("input")
@click.argument("output")
@click.option(
    "--model-size",
    type=click.Choice(list(PRESETS)),
    help="Model size: 100k, 3M, 6M or 12.5M parameters [default: s].",
)
@click.option(
    "--preset",
    cls=RenamedOption,
    type=click.Choice(list(PRESETS)),
    replaced_by="model_size",
    reason="to x264 and x265 users a preset is a speed",
)
@click.option("--params", type=click.IntRange(min=1), help="Model size as a parameter budget.")
@click.option(
    "--bpp",
    type=click.FloatRange(min=0, min_open=True),
    help="Model size for a file of X bits per pixel (within 10%).",
)
@click.option(
    "--layers",
    type=click.IntRange(1, 8),
    help="CoordFlow layers blended per pixel; decoding time grows with them [default: "
    + ", ".join(f"{n} for {model}" for model, n in DEFAULT_LAYERS.items())
    + "].",
)
@representation_option()
@click.option(
    "--lambda",
    "rate_lambda",
    type=click.FloatRange(min=0, min_open=True),
    help=f"Rate weight of the grid model: larger, smaller files [default: {DEFAULT_LAMBDA:g}].",
)
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Effort in epochs.")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Effort as wall-clock time: each fit with its rate control, quantization and measurement.",
)
@click.option("--frames", type=FrameRange(), help="Encode frames A to B-1 only.")
@click.option("-s", "--size", type=FrameSize(), help="Resize to WxH before fitting.")
@click.option(
    "-r",
    "--fps",
    type=FrameRate(),
    help="The input's frame rate [default: the input's own; 25 for raw YUV and PNG patterns].",
)
@click.option(
    "--input-res",
    type=FrameSize(),
    help="Frame size of raw YUV input [default: from a name like clip_1920x1080_50fps.yuv].",
)
@click.option(
    "--pix-fmt",
    type=click.Choice(RAW_PIXEL_FORMATS),
    help="Pixel format of raw YUV input [default: from the name (_444, _10bit), else yuv420p].",
)
@DEVICE
@precision_option(
    "Of the fitting's matrix products; auto takes bfloat16 on CUDA and on CPUs where it "
    "runs at least twice as fast as float32."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help=f"Pixels per fitting step [default: {CPU_BATCH_SIZE} on the CPU, {GRID_CPU_BATCH_SIZE} "
    f"for a grid model, {CUDA_BATCH_SIZE} on CUDA].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--segment-frames",
    type=click.IntRange(min=1),
    help="Cut the clip into segments of N frames, each a model of its own [default: one "
    f"segment up to {ONE_SEGMENT_SECONDS:g} s, else segments of {DEFAULT_SEGMENT_SECONDS:g} s].",
)
@click.option(
    "--overlap",
    type=click.IntRange(min=0),
    default=DEFAULT_OVERLAP_FRAMES,
    show_default=True,
    help="Frames of each neighbour a segment also fits, cross-faded when decoding.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Segments fitted at once, in worker processes sharing the cores.",
)
@click.option(
    "--ray",
    metavar="ADDRESS",
    help="Fit segments as tasks on a Ray cluster: auto, an address, or local (this machine).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    help="Where finished segments are kept until the file is written [default: OUTPUT.parts].",
)
@click.option("--resume", is_flag=True, help="Take up the segments an interrupted encode left.")
@THREADS
@OVERWRITE
@QUIET
@QUIET_SHORT
@JSON
def encode(
    input,
    output,
    model_size,
    params,
    bpp,
    layers,
    representation,
    rate_lambda,
    epochs,
    minutes,
    frames,
    size,
    fps,
    input_res,
    pix_fmt,
    device,
    precision,
    batch_size,
    seed,
    segment_frames,
    overlap,
    jobs,
    ray,
    work_dir,
    resume,
    threads,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Fit INPUT and store it as OUTPUT (.cfv; - for stdout).

    INPUT is any video or URL FFmpeg reads, - for y4m on stdin, a PNG pattern such as
    frames/%05d.png, or raw YUV (.yuv, or --input-res): its size, pixel format and rate come
    from --input-res, --pix-fmt and -r or from a name like clip_1920x1080_50fps_420_10bit.yuv.

    The grid model's rate is --lambda; its size (--model-size, --params) bounds the latents it
    may spend bits on. An MLP model's size is --model-size (xs, s, m, l; s by default) or
    --params. The effort is --epochs and/or --minutes (20 epochs by default). --bpp asks for a
    rate instead: a file that misses the target by 10% is refitted once (at the lambda, or for
    an MLP the size, the measured rate calls for), then a warning is printed if it still misses.

    A long clip is encoded by segments (--segment-frames), each with its share of the size
    and of --minutes, read from INPUT as needed and fitted --jobs at a time or on a Ray
    cluster (--ray); after a crash or Ctrl-C, the same command with --resume refits only the
    segments not yet finished.
    """
    from nvcodec import api
    from nvcodec.progress import ProgressReport

    _check_stdout(output, as_json)
    threads = _use_threads(threads)
    with ProgressReport(enabled=not quiet) as progress:
        summary = api.encode(
            input,
            output,
            fps=fps,
            preset=model_size,
            params=params,
            bpp=bpp,
            layers=layers,
            model=representation,
            rate_lambda=rate_lambda,
            epochs=epochs,
            minutes=minutes,
            frames=frames,
            size=size,
            input_res=input_res,
            pix_fmt=pix_fmt,
            device=device,
            precision=precision,
            batch_size=batch_size,
            seed=seed,
            segment_frames=segment_frames,
            overlap=overlap,
            jobs=jobs,
            ray=ray,
            work_dir=work_dir,
            resume=resume,
            overwrite=overwrite,
            on_progress=progress.fit,
            on_phase=progress.phase,
            on_segment=progress.segment,
        )
    for warning in summary.warnings:
        click.echo(f"cfv: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), "threads": threads}, indent=2))
    elif not quiet:
        click.echo(_encode_report(summary), err=output == STDIO)


@cli.command()
@click.argument("input")
@click.argument("output", required=False)
@click.option(
    "-o",
    "--output",
    "output_option",
    metavar="OUTPUT",
    help="The output; the same as OUTPUT, given as an option.",
)
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS),
    help="Output format, whatever the name [default: by suffix; y4m for - and pipes].",
)
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True), help="Resolution as a factor."
)
@click.option("-s", "--size", type=FrameSize(), help="Resolution as WxH.")
@click.option("-r", "--fps", type=FrameRate(), help="Frame rate, e.g. 60 or 30000/1001.")
@click.option("--frames", type=FrameRange(), help="Render output frames A to B-1 only.")
@click.option("--lossless", is_flag=True, help="Lossless RGB H.264 for .mp4 outputs.")
@click.option("--alpha-map", is_flag=True, help="Show the layers' alphas, one colour per layer.")
@click.option(
    "--layer", type=LAYER, metavar="K", help="Show layer K's RGB alone (layers count from 0)."
)
@click.option(
    "--drop-layer", type=LAYER, metavar="K", help="Show the other layers without layer K."
)
@click.option(
    "--stabilize",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SIGMA",
    help="Smooth the camera motion with a Gaussian of SIGMA frames.",
)
@click.option(
    "--stabilize-layer",
    type=LAYER,
    metavar="K",
    help="The layer whose motion is the camera's [default: the largest mean alpha].",
)
@click.option("--canonical", is_flag=True, help="Show the canonical space the flow maps into.")
@click.option(
    "--canonical-extent",
    type=click.FloatRange(min=0, min_open=True),
    metavar="F",
    help="Canonical window size relative to the frame [default: 2; a grid model's grids, 1.5].",
)
@DEVICE
@precision_option(
    "Of the rendering's matrix products; auto takes float32 on a CPU (frames within the "
    "format's conformance bound) and bfloat16 on CUDA. bfloat16 renders faster on CPUs "
    "with native bfloat16, a few samples some steps off."
)
@THREADS
@OVERWRITE
@QUIET
@QUIET_SHORT
@JSON
def decode(
    input,
    output,
    output_option,
    output_format,
    scale,
    size,
    fps,
    frames,
    lossless,
    alpha_map,
    layer,
    drop_layer,
    stabilize,
    stabilize_layer,
    canonical,
    canonical_extent,
    device,
    precision,
    threads,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Render INPUT (.cfv; - for stdin) to OUTPUT at any resolution and frame rate.

    -f or the output's suffix picks the format: .mp4 (H.264 4:2:0, BT.709; --lossless for
    exact RGB), .mkv (FFV1, lossless), .y4m (4:4:4, BT.709), or a PNG pattern such as
    frames/%05d.png. OUTPUT - is stdout (y4m unless -f says otherwise); pipes and devices
    are written through. Without OUTPUT the video goes to INPUT.mp4 (clip.cfv.mp4), which
    is never replaced, -y or not.

    Instead of the frames it can show the layers' alpha maps (--alpha-map), one layer alone
    (--layer) or the others without it (--drop-layer), render through a smoothed camera
    motion (--stabilize), or show the colour networks over a window wider than the frame
    without the flow (--canonical; -s then sizes the whole window).
    """
    from nvcodec import api
    from nvcodec.decoder.views import View
    from nvcodec.progress import ProgressReport

    output = _decode_output(input, output, output_option, output_format)
    _check_stdout(output, as_json)
    threads = _use_threads(threads)
    with ProgressReport(enabled=not quiet) as progress:
        summary = api.decode(
            input,
            output,
            scale=scale,
            size=size,
            fps=fps,
            frames=frames,
            lossless=lossless,
            format=output_format,
            device=device,
            precision=precision,
            overwrite=overwrite,
            view=View(
                alpha_map=alpha_map,
                layer=layer,
                drop_layer=drop_layer,
                stabilize=stabilize,
                stabilize_layer=stabilize_layer,
                canonical=canonical,
                canonical_extent=canonical_extent,
            ),
            on_progress=progress.frames,
        )
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), "threads": threads}, indent=2))
    elif not quiet:
        last = summary.first_frame + summary.frames
        click.echo(
            f"{summary.output}: {summary.width}x{summary.height}, {summary.frames} frames "
            f"({summary.first_frame}:{last}) at {_rate(summary.fps)} fps, "
            f"rendered in {summary.seconds:.1f} s on {summary.device} in {summary.precision}",
            err=output == STDIO,
        )


def _decode_output(
    input: str, positional: str | None, option: str | None, output_format: str | None
) -> str:
    """The output named once, as OUTPUT or -o; else INPUT plus the format's suffix, a name
    that cannot be the source video and is never replaced."""
    if positional is not None and option is not None:
        raise click.UsageError("give the output once, as OUTPUT or with -o")
    named = positional if positional is not None else option
    if named is not None:
        return named
    if input == STDIO or output_format == "png":
        raise click.UsageError("name the output (a PNG pattern, a file or -)")
    implicit = f"{input}.{output_format or 'mp4'}"
    if os.path.lexists(implicit):
        raise FileError(f"{implicit}: already exists; name the output to replace it")
    return implicit


def _check_stdout(output: str, as_json: bool) -> None:
    """Refuse to mix a summary into a stream on stdout, or to pour one onto a terminal."""
    if output != STDIO:
        return
    if as_json:
        raise click.UsageError("--json prints on stdout, which the output - takes")
    if sys.stdout.isatty():
        raise click.UsageError("stdout is a terminal; redirect it or name an output")


@cli.command()
@click.argument("input")
@JSON
def info(input, as_json) -> None:
    """Describe INPUT (.cfv; - for stdin): header, architecture, sizes, encoder metadata."""
    from nvcodec.io.cfv_file import probe

    details = probe(input)
    if as_json:
        click.echo(json.dumps(details.to_dict(), indent=2))
    else:
        click.echo(_info_report(input, details))


@cli.command(add_help_option=False, context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Rate-distortion curves against x265 and others (cfv bench --help)."""
    from nvcodec.bench.command import run  # torch, the codecs and matplotlib only when run

    run(list(args))


def _rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def _use_threads(threads: int | None) -> int:
    """Set torch's CPU threads when asked (a process setting, stored in no file); the count in
    use either way, for the JSON summary."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def _encode_report(summary: EncodeSummary) -> str:
    return "\n".join(
        [
            f"{summary.output}: {summary.params:,} parameters, {summary.bytes:,} bytes, "
            f"{summary.bpp:.4f} bpp ({summary.bits_per_weight:.2f} bits per parameter)",
            f"PSNR {summary.psnr:.2f} dB of the decoded file "
            f"({summary.psnr_unquantized:.2f} dB before quantization) on {summary.width}x"
            f"{summary.height}, {summary.frames} frames at {_rate(summary.fps)} fps",
            f"fitted for {summary.fit_seconds:.1f} s ({summary.epochs:.1f} epochs) on "
            f"{summary.device} in {summary.precision}; {summary.seconds:.1f} s in all",
        ]
    )


def _colour_input(config: ModelConfig) -> str:
    grid = config.grid
    if grid is None:
        return f"xy {config.xy_octaves}, t {config.t_octaves} octaves"
    return (
        f"grid: {grid.levels} levels from {grid.width}x{grid.height}, x-y-t "
        f"{grid.xyt_channels}x{grid.xyt_frames}x{grid.xyt_height}x{grid.xyt_width}"
    )


def _info_report(path: str, info: CfvInfo) -> str:
    canvas, config, colour = info.canvas, info.config, info.colour
    flow = (
        f"flow {config.flow_depth}x{config.flow_width} ({config.flow_octaves} octaves)"
        if config.use_flow
        else "no flow"
    )
    lines = [
        f"file:      {path} ({info.bytes:,} bytes, format {info.version[0]}.{info.version[1]},"
        f" reader {info.min_reader_major}+)",
        f"video:     {canvas.width}x{canvas.height}, {canvas.num_frames} frames at "
        f"{_rate(canvas.fps)} fps ({float(canvas.num_frames / canvas.fps):.3f} s)",
        f"colour:    RGB, primaries {colour['colour_primaries']}, transfer "
        f"{colour['transfer_characteristics']}, matrix {colour['matrix_coefficients']}, "
        f"{'full' if colour['full_range'] else 'limited'} range (H.273 code points)",
        f"model:     {info.params:,} parameters; {config.num_layers} layers of colour "
        f"{config.colour_depth}x{config.colour_width} ({_colour_input(config)}), {flow}, "
        f"{config.activation}",
        f"rate:      {info.bpp:.4f} bpp, {info.bits_per_weight:.2f} bits per parameter",
        "chunks:    " + ", ".join(f"{name} {size:,}" for name, size in info.chunk_bytes.items()),
    ]
    if len(info.segments) > 1:
        lines.insert(
            4, f"segments:  {len(info.segments)} (parameters of all; the architecture the first's)"
        )
        lines += [
            f"segment {number}: frames {s.first_frame}:{s.first_frame + s.frames}, "
            f"{s.bytes:,} bytes, {s.params:,} parameters"
            for number, s in enumerate(info.segments)
        ]
    if info.metadata:
        lines.append(f"encoder:   {json.dumps(info.metadata, sort_keys=True)}")
    return "\n".join(lines)


def main() -> None:
    """Entry point of the `cfv` script and of `python -m nvcodec`."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _terminate)
    try:
        cli(prog_name="cfv")
    except KeyboardInterrupt:  # before click took charge, or while it reported an error
        click.echo("cfv: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
