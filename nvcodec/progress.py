"""Progress of a `cfv` command on stderr: a self-overwriting line on a terminal; elsewhere (log
files, batch jobs) a plain line at each phase and every LOG_INTERVAL seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click

from nvcodec.decoder.pipeline import DecodeProgress
from nvcodec.encoder.fit import FitProgress
from nvcodec.encoder.pipeline import EncodeJob

LOG_INTERVAL = 30.0
LONG_ENCODE = 3600.0
"""An encode estimated to take longer than this is announced with a warning."""


class ProgressReport:
    """What `cfv encode` and `cfv decode` show while they work (nothing when disabled)."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.terminal = enabled and self.stream.isatty()
        self.shown = False
        self.last_line = -LOG_INTERVAL

    def phase(self, name: str, job: EncodeJob) -> None:
        """A phase of an encode begins; before fitting, say what the job is and costs."""
        if name == "fitting":
            self._line(describe_job(job))
            if job.total_seconds > LONG_ENCODE:
                self._line(
                    f"cfv: warning: this encode takes about {duration(job.total_seconds)}; "
                    "--minutes bounds it, a smaller --preset or -s WxH shortens it"
                )
        else:
            self._status(f"{name}...", force=True)

    def segment(self, number: int, first: int, frames: int, data: bytes, resumed: bool) -> None:
        """A segment of a segmented encode is ready."""
        how = "kept from the interrupted run" if resumed else "fitted"
        self._line(f"segment {number}: frames {first}:{first + frames}, {len(data):,} bytes, {how}")

    def fit(self, progress: FitProgress) -> None:
        eta = _eta(progress.seconds, progress.fraction_done)
        self._status(
            f"fitting: epoch {progress.epoch:.1f}, PSNR {progress.psnr:.2f} dB, "
            f"{100 * progress.fraction_done:.0f}%, {duration(progress.seconds)} elapsed, "
            f"ETA {eta}"
        )

    def frames(self, progress: DecodeProgress) -> None:
        eta = _eta(progress.seconds, progress.done / progress.total)
        self._status(f"rendering: frame {progress.done}/{progress.total}, ETA {eta}")

    def _status(self, text: str, force: bool = False) -> None:
        if self.terminal:
            click.echo(f"\r\x1b[K{text}", file=self.stream, nl=False)
            self.shown = True
        elif self.enabled and (force or time.monotonic() - self.last_line >= LOG_INTERVAL):
            self._line(text)

    def _line(self, text: str) -> None:
        if not self.enabled:
            return
        self._end_status()
        click.echo(text, file=self.stream)
        self.last_line = time.monotonic()

    def _end_status(self) -> None:
        if self.shown:  # end the line, so what follows starts on its own
            click.echo(file=self.stream)
            self.shown = False

    def __enter__(self) -> ProgressReport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end_status()


def describe_job(job: EncodeJob) -> str:
    """One line: the model, the effort and the estimated time of each part of a fit."""
    config = job.config
    effort = f"{job.epochs:g} epochs" if job.epochs is not None else "a time budget"
    return (
        f"cfv: {job.params:,} parameters ({config.num_layers} layers of colour "
        f"{config.colour_depth}x{config.colour_width}) on {job.device}, {effort}: about "
        f"{duration(job.total_seconds)} in all, {duration(job.fit_seconds)} of it fitting "
        f"(estimated from a short measurement)"
    )


def duration(seconds: float) -> str:
    """12 s, 4 min 05 s, 21 h 24 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _eta(seconds: float, fraction: float) -> str:
    if fraction <= 0:
        return "--:--"
    return duration(seconds * (1.0 - fraction) / fraction)
