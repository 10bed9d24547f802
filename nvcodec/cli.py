"""The `cfv` command: encode a video to .cfv, decode it at any size and frame rate, describe it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nvcodec.errors import CfvError, CfvVersionError, NvcodecError, SettingsError
from nvcodec.model.canvas import parse_fps
from nvcodec.model.presets import PRESETS
from nvcodec.option_spellings import CfvCommand, RenamedOption
from nvcodec.settings import (
    CPU_BATCH_SIZE,
    CUDA_BATCH_SIZE,
    DEVICE_CHOICES,
    PRECISION_CHOICES,
    device_name,
    frame_range,
    frame_size,
)

if TYPE_CHECKING:  # the commands import the codec itself, and torch with it, only when run
    from nvcodec.api import EncodeSummary
    from nvcodec.bitstream.cfv import CfvInfo

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
  cfv decode --scale 2 out.cfv        render to out.mp4 at twice the size
  cfv info out.cfv                    describe a .cfv file

\b
Exit codes:
  0    success
  1    error: missing or unreadable input, not a video, no such CUDA device,
       output exists without -y
  2    usage error: unknown, malformed, out-of-range or conflicting options,
       or a size or frame range the input cannot give
  3    corrupt or truncated .cfv file
  4    the .cfv file needs a newer version of cfv
  130  interrupted (Ctrl-C); no partial output is left behind
"""


# click 8.2+ raises this for a bare `cfv`; its message is the help text, not one line.
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class CfvGroup(click.Group):
    """Maps every failure to one line on stderr and its documented exit code."""

    command_class = CfvCommand

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
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
        return EXIT_INTERRUPTED, "cfv: interrupted"
    if isinstance(exc, OSError):
        return EXIT_ERROR, f"cfv: {exc.filename or ''}: {exc.strerror or exc}"
    if isinstance(exc, CfvVersionError):
        return EXIT_VERSION, f"cfv: {exc}"
    if isinstance(exc, CfvError):
        return EXIT_CORRUPT, f"cfv: corrupt .cfv file: {exc}"
    return (EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR), f"cfv: {exc}"


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
    do the work (this one imports torch, to say whether CUDA is there)."""
    import av
    import torch

    import nvcodec
    from nvcodec.bitstream.cfv import VERSION

    cuda = (
        f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s)"
        if torch.cuda.is_available()
        else "no CUDA device"
    )
    libavcodec = ".".join(str(part) for part in av.library_versions["libavcodec"])
    return "\n".join(
        [
            f"cfv {nvcodec.__version__}",
            f".cfv format: writes {VERSION.major}.{VERSION.minor}, reads {VERSION.major}.0 to "
            f"{VERSION.major}.{VERSION.minor} (reader version {VERSION.major})",
            f"torch {torch.__version__} ({cuda})",
            f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info} (libavcodec {libavcodec})",
        ]
    )


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
@click.option("--layers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Effort in epochs.")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Effort as wall-clock time (fitting and quantization fine-tuning).",
)
@click.option("--frames", type=FrameRange(), help="Encode frames A to B-1 only.")
@click.option("-s", "--size", type=FrameSize(), help="Resize to WxH before fitting.")
@click.option("-r", "--fps", type=FrameRate(), help="Override the input's frame rate.")
@DEVICE
@click.option(
    "--precision",
    type=click.Choice(PRECISION_CHOICES),
    default="auto",
    show_default=True,
    help="Of the fitting's matrix products; auto takes bfloat16 on CUDA and on CPUs where it "
    "runs at least twice as fast as float32.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help=f"Pixels per fitting step [default: {CPU_BATCH_SIZE} on the CPU, {CUDA_BATCH_SIZE} "
    "on CUDA].",
)
@click.option("--seed", type=int, default=0, show_default=True)
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
    epochs,
    minutes,
    frames,
    size,
    fps,
    device,
    precision,
    batch_size,
    seed,
    threads,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Fit INPUT (any video FFmpeg reads) and store it as OUTPUT (.cfv).

    The model size is --model-size (xs, s, m, l; s by default), --params or --bpp; the effort is
    --epochs and/or --minutes (20 epochs by default). With --bpp the size is predicted from a
    typical 6 bits per parameter; a file that misses 10% of the target is refitted once at the
    measured rate, then a warning is printed if it still misses.
    """
    from nvcodec import api
    from nvcodec.progress import ProgressReport

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
            epochs=epochs,
            minutes=minutes,
            frames=frames,
            size=size,
            device=device,
            precision=precision,
            batch_size=batch_size,
            seed=seed,
            overwrite=overwrite,
            on_progress=progress.fit,
            on_phase=progress.phase,
        )
    for warning in summary.warnings:
        click.echo(f"cfv: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps({**summary.to_dict(), "threads": threads}, indent=2))
    elif not quiet:
        click.echo(_encode_report(summary))


@cli.command()
@click.argument("input")
@click.option("-o", "--output", help="Output file or PNG pattern [default: INPUT with .mp4].")
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
    help="Canonical window size relative to the frame [default: 2].",
)
@DEVICE
@THREADS
@OVERWRITE
@QUIET
@QUIET_SHORT
@JSON
def decode(
    input,
    output,
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
    threads,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Render INPUT (.cfv) to a video at any resolution and frame rate.

    The output's suffix picks the format: .mp4 (H.264; --lossless for exact RGB), .mkv (FFV1,
    lossless), .y4m (raw 4:4:4), or a PNG pattern such as frames/%05d.png.

    Instead of the frames it can show the layers' alpha maps (--alpha-map), one layer alone
    (--layer) or the others without it (--drop-layer), render through a smoothed camera
    motion (--stabilize), or show the colour networks over a window wider than the frame
    without the flow (--canonical; -s then sizes the whole window).
    """
    from nvcodec import api
    from nvcodec.decoder.views import View
    from nvcodec.progress import ProgressReport

    output = output or str(Path(input).with_suffix(".mp4"))
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
            device=device,
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
            f"rendered in {summary.seconds:.1f} s on {summary.device}"
        )


@cli.command()
@click.argument("input")
@JSON
def info(input, as_json) -> None:
    """Describe INPUT (.cfv): header, architecture, sizes, encoder metadata."""
    from nvcodec.io.cfv_file import probe

    details = probe(input)
    if as_json:
        click.echo(json.dumps(details.to_dict(), indent=2))
    else:
        click.echo(_info_report(input, details))


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
        f"{config.colour_depth}x{config.colour_width} (xy {config.xy_octaves}, t "
        f"{config.t_octaves} octaves), {flow}, {config.activation}",
        f"rate:      {info.bpp:.4f} bpp, {info.bits_per_weight:.2f} bits per parameter",
        "chunks:    " + ", ".join(f"{name} {size:,}" for name, size in info.chunk_bytes.items()),
    ]
    if info.metadata:
        lines.append(f"encoder:   {json.dumps(info.metadata, sort_keys=True)}")
    return "\n".join(lines)


def main() -> None:
    """Entry point of the `cfv` script and of `python -m nvcodec`."""
    try:
        cli(prog_name="cfv")
    except KeyboardInterrupt:  # before click took charge, or while it reported an error
        click.echo("cfv: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
