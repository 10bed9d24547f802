"""Encoding by segments, measured: quality against one segment, parallel speed-up, memory.

    python -m tools.bench.segments quality    # 60 s of Bunny at 320x180: 1 segment, 4 s, 2 s
    python -m tools.bench.segments jobs       # wall time of --jobs 2 against --jobs 1
    python -m tools.bench.segments memory     # peak memory of 1080p encodes of two lengths
    python -m tools.bench.segments warm       # a segment warm-started from its predecessor

`quality` loops Bunny 320x180x132 forwards and backwards (no cut at the loop points) to 60 s
and encodes it at one bpp target and one wall-time budget per encode, as one segment and in
segments of 4 s and 2 s: bpp, PSNR, PSNR of the frames either side of each boundary, and the
mean absolute change between consecutive frames at the boundaries against the source's change
there (1.0: the decoded motion is as smooth as the source's). `jobs` encodes 24 s of the same
clip in 4 s segments for a fixed number of epochs with one job on one core, one job on all
cores (torch's threads) and two jobs. `memory` writes
synthetic 1080p clips of two lengths to files, encodes each through `cfv encode` by 2 s
segments with two jobs, and samples the resident memory of the encode and its workers.
`warm` encodes one 4 s segment from scratch and from the
decoded model of the segment before it, at the same wall-time budget and rate weight.
Each writes tools/results/segments_<kind>_cpu.json (its schema: the `*_SCHEMA` constants
below).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import click
import numpy as np
import torch

from nvcodec import api
from nvcodec.bitstream.codec import decode_cfv
from nvcodec.encoder.fit import FitConfig
from nvcodec.encoder.pipeline import encode_clip
from nvcodec.encoder.segments import cut
from nvcodec.io.video import read_video, write_video
from nvcodec.metrics import mean_squared_error, psnr_from_mse
from nvcodec.model.config import parameter_count
from nvcodec.model.presets import grid_model_config
from nvcodec.settings import DEFAULT_OVERLAP_FRAMES
from tools.bench.memory import moving_texture
from tools.common import HELP_OPTIONS, bunny_path, load, save

QUALITY_SCHEMA = "nvcodec-segments-quality/1"
JOBS_SCHEMA = "nvcodec-segments-jobs/2"
MEMORY_SCHEMA = "nvcodec-segments-memory/1"
WARM_SCHEMA = "nvcodec-segments-warm/1"
SIZE = (320, 180)
GIB = 2**30


def looped_bunny(seconds: float) -> tuple[np.ndarray, Fraction]:
    """Bunny at 320x180 played forwards and backwards until it lasts `seconds`."""
    video = read_video(bunny_path(), 0, None, SIZE)
    there_and_back = np.concatenate([video.frames_u8, video.frames_u8[-2:0:-1]])
    count = round(seconds * video.fps)
    repeats = -(-count // len(there_and_back))
    return np.concatenate([there_and_back] * repeats)[:count], video.fps


def boundary_measures(source: np.ndarray, decoded: np.ndarray, firsts: list[int]) -> dict:
    """PSNRs at the frames either side of each boundary, and the decoded clip's frame-to-frame
    change at the boundaries and elsewhere relative to the source's."""
    errors = np.array([mean_squared_error(a, b) for a, b in zip(source, decoded, strict=True)])
    change = [_mean_change(clip) for clip in (source, decoded)]
    at = np.array(firsts[1:], dtype=int)
    elsewhere = np.setdiff1d(np.arange(1, len(source)), at)
    sides = np.concatenate([at - 1, at]) if len(at) else np.array([], dtype=int)
    return {
        "psnr_all_frames": psnr_from_mse(float(errors.mean()), 255.0),
        "psnr_boundary_frames": psnr_from_mse(float(errors[sides].mean()), 255.0)
        if len(sides)
        else None,
        "change_ratio_at_boundaries": float(change[1][at].mean() / change[0][at].mean())
        if len(at)
        else None,
        "change_ratio_elsewhere": float(change[1][elsewhere].mean() / change[0][elsewhere].mean()),
    }


def _mean_change(clip: np.ndarray) -> np.ndarray:
    """Mean absolute change of each frame from the one before (entry 0 is 0)."""
    change = np.zeros(len(clip))
    for index in range(1, len(clip)):
        change[index] = np.abs(clip[index].astype(np.int16) - clip[index - 1]).mean()
    return change


@click.group(context_settings=HELP_OPTIONS)
def main() -> None:
    """Benchmarks of encoding by segments."""


@main.command()
@click.option("--seconds", default=60.0, show_default=True, help="Length of the looped clip.")
@click.option("--minutes", default=6.0, show_default=True, help="Wall time of each fit.")
@click.option("--bpp", default=0.1, show_default=True, help="Rate target of every encode.")
@click.option(
    "--segments",
    "lengths",
    default="0,4,2",
    show_default=True,
    help="Segment lengths in seconds; 0 is one segment.",
)
@click.option(
    "--overlap",
    default=DEFAULT_OVERLAP_FRAMES,
    show_default=True,
    help="Frames of each neighbour a segment also fits.",
)
@click.option(
    "--name",
    default="segments_quality_cpu",
    show_default=True,
    help="The result file's name in tools/results/.",
)
@click.option("--append", is_flag=True, help="Keep the file's rows of other segment lengths.")
def quality(
    seconds: float, minutes: float, bpp: float, lengths: str, overlap: int, name: str, append: bool
) -> None:
    """One segment against segments of a few seconds, at one rate and one time budget."""
    clip, fps = looped_bunny(seconds)
    rows = []
    for length in (float(value) for value in lengths.split(",")):
        frames = len(clip) if length == 0 else round(length * fps)
        started = time.perf_counter()
        summary = api.encode(
            clip, fps=fps, bpp=bpp, minutes=minutes, segment_frames=frames, overlap=overlap
        )
        wall = time.perf_counter() - started
        decoded = api.decode(summary.data).frames_u8
        firsts = [segment.first_frame for segment in summary.info.segments]
        row = {
            "segment_seconds": length or seconds,
            "segments": len(firsts),
            "overlap": overlap if len(firsts) > 1 else 0,
            "bpp": summary.bpp,
            "psnr": summary.psnr,
            "epochs": summary.epochs,
            "wall_seconds": round(wall, 1),
            **boundary_measures(clip, decoded, firsts),
        }
        rows.append(row)
        click.echo(
            f"{row['segments']:3d} segments: {row['bpp']:.4f} bpp, {row['psnr']:.2f} dB, "
            f"boundaries {row['psnr_boundary_frames'] or float('nan'):.2f} dB, change ratio "
            f"{row['change_ratio_at_boundaries'] or float('nan'):.2f} at boundaries, "
            f"{row['change_ratio_elsewhere']:.2f} elsewhere, {wall:.0f} s"
        )
    settings = {
        "clip": f"Bunny {SIZE[0]}x{SIZE[1]} looped to {seconds:g} s ({len(clip)} frames at {fps})",
        "minutes_per_fit": minutes,
        "bpp": bpp,
        "jobs": 1,
    }
    earlier = (load(name) or {}) if append else {}
    if earlier and earlier["settings"] != settings:
        raise click.ClickException(f"{name}.json was measured with other settings")
    replaced = {(row["segment_seconds"], row["overlap"]) for row in rows}
    kept = [
        r for r in earlier.get("rows", []) if (r["segment_seconds"], r["overlap"]) not in replaced
    ]
    rows = sorted(kept + rows, key=lambda row: -row["segment_seconds"])
    save(name, QUALITY_SCHEMA, {"settings": settings, "rows": rows})


@main.command()
@click.option("--seconds", default=24.0, show_default=True)
@click.option("--segment-seconds", default=4.0, show_default=True)
@click.option("--epochs", default=1.0, show_default=True)
@click.option("--repeats", default=2, show_default=True, help="Runs of each, interleaved.")
def jobs(seconds: float, segment_seconds: float, epochs: float, repeats: int) -> None:
    """Wall time of the same segmented encode with one job on one core, one job on all cores
    (torch's threads) and two jobs; the best of `repeats` interleaved runs of each."""
    clip, fps = looped_bunny(seconds)
    frames = round(segment_seconds * fps)
    cores = os.cpu_count() or 1
    rows = [
        {"jobs": count, "threads": threads} for count, threads in ((1, 1), (1, cores), (2, cores))
    ]
    for _ in range(repeats):
        for row in rows:
            torch.set_num_threads(row["threads"])
            started = time.perf_counter()
            summary = api.encode(
                clip, fps=fps, epochs=epochs, segment_frames=frames, jobs=row["jobs"]
            )
            wall = time.perf_counter() - started
            row.setdefault("runs_seconds", []).append(round(wall, 1))
            row.update(
                wall_seconds=min(row["runs_seconds"]),
                psnr=summary.psnr,
                bpp=summary.bpp,
                segments=len(summary.info.segments),
            )
            click.echo(
                f"--jobs {row['jobs']} on {row['threads']} threads: {wall:.1f} s, "
                f"{summary.psnr:.2f} dB"
            )
    one_core, one_job, two_jobs = (row["wall_seconds"] for row in rows)
    speedup = one_job / two_jobs
    click.echo(
        f"--jobs 2: {speedup:.2f}x one job on {cores} threads, {one_core / two_jobs:.2f}x one "
        f"job on one core (torch's own threads: {one_core / one_job:.2f}x)"
    )
    settings = {
        "clip": f"Bunny {SIZE[0]}x{SIZE[1]} looped to {seconds:g} s",
        "segment_seconds": segment_seconds,
        "epochs": epochs,
        "cores": cores,
        "repeats": repeats,
    }
    save("segments_jobs_cpu", JOBS_SCHEMA, {"settings": settings, "rows": rows, "speedup": speedup})


@main.command()
@click.option("--seconds", default=16.0, show_default=True, help="Length of the looped clip.")
@click.option("--segment-seconds", default=4.0, show_default=True)
@click.option(
    "--budgets",
    default="24,72",
    show_default=True,
    help="Seconds per segment encode; 24 is a 4 s segment's share of 6 minutes for 60 s.",
)
def warm(seconds: float, segment_seconds: float, budgets: str) -> None:
    """A segment fitted from scratch against one warm-started from its predecessor's file."""
    clip, fps = looped_bunny(seconds)
    windows = list(cut(iter(clip), round(segment_seconds * fps), DEFAULT_OVERLAP_FRAMES))
    previous, current = windows[1], windows[2]  # two inner segments: the same frame count
    count, height, width = current.frames_u8.shape[:3]
    params = parameter_count(grid_model_config(width, height, count, 2))
    rows = []
    for budget in (float(value) for value in budgets.split(",")):
        fit_config = FitConfig(epochs=None, seconds=budget)
        encoding = {"params": params, "budget_seconds": budget}
        first = encode_clip(previous.frames_u8, fps, fit_config, **encoding)
        before = decode_cfv(first.data).model
        for start in ("cold", "warm"):
            model = before if start == "warm" else None
            encoded = encode_clip(current.frames_u8, fps, fit_config, **encoding, start=model)
            rows.append(
                {
                    "budget_seconds": budget,
                    "start": start,
                    "bpp": encoded.info.bpp,
                    "psnr": encoded.psnr,
                    "epochs": encoded.epochs,
                }
            )
            click.echo(
                f"{budget:g} s, {start}: {encoded.info.bpp:.4f} bpp, {encoded.psnr:.2f} dB, "
                f"{encoded.epochs:.1f} epochs"
            )
    settings = {
        "clip": f"Bunny {SIZE[0]}x{SIZE[1]} looped to {seconds:g} s, segments 2 and 3",
        "segment_seconds": segment_seconds,
        "overlap": DEFAULT_OVERLAP_FRAMES,
        "model": f"grid, {params} parameters, lambda {fit_config.rate_lambda:g}",
    }
    save("segments_warm_cpu", WARM_SCHEMA, {"settings": settings, "rows": rows})


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            fields = (Path("/proc") / str(pid) / "statm").read_text().split()
            total += int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError):
            pass
    return total


def peak_of(command: list[str]) -> tuple[int, float]:
    """Peak resident memory of a command's process tree (sampled every 0.2 s) and its wall
    time."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    if process.returncode:
        raise click.ClickException(stderr.decode()[-500:])
    return peak, time.perf_counter() - started


@main.command()
@click.option("--lengths", default="6,12", show_default=True, help="Clip lengths in seconds.")
@click.option("--segment-seconds", default=2.0, show_default=True)
@click.option("--epochs", default=0.05, show_default=True)
def memory(lengths: str, segment_seconds: float, epochs: float) -> None:
    """Peak memory of 1080p encodes by segments: it should not grow with the clip's length."""
    fps = Fraction(25)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (float(value) for value in lengths.split(",")):
            source = Path(folder) / f"clip_{seconds:g}s.mp4"
            write_video(source, moving_texture(1920, 1080, round(seconds * fps)), fps)
            command = [
                sys.executable,
                "-m",
                "nvcodec",
                "encode",
                str(source),
                str(Path(folder) / "out.cfv"),
                "-y",
                "--quiet",
                "--epochs",
                str(epochs),
                "--segment-frames",
                str(round(segment_seconds * fps)),
                "--jobs",
                "2",
            ]
            peak, wall = peak_of(command)
            rows.append(
                {
                    "seconds": seconds,
                    "frames": round(seconds * fps),
                    "peak_gib": round(peak / GIB, 3),
                    "wall_seconds": round(wall, 1),
                }
            )
            click.echo(f"1080p {seconds:g} s: peak {peak / GIB:.2f} GiB, {wall:.0f} s")
    settings = {
        "size": "1920x1080",
        "fps": str(fps),
        "segment_seconds": segment_seconds,
        "epochs": epochs,
        "jobs": 2,
        "input": "H.264 file, streamed",
    }
    save("segments_memory_cpu", MEMORY_SCHEMA, {"settings": settings, "rows": rows})


if __name__ == "__main__":
    main()
