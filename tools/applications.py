"""The paper's section 4 applications, measured: JSON in tools/results/applications_*.json.

    python -m tools.applications all              # the five below, 5-10 minutes on 2 idle cores
    python -m tools.applications upsampling       # fit at 1/4 size, render at full size (Fig. 5)
    python -m tools.applications interpolation    # fit the even frames, render the odd ones
    python -m tools.applications stabilization    # a shaken synthetic pan, before and after
    python -m tools.applications denoising        # fit a noisy clip, compare with the clean one
    python -m tools.applications segmentation     # alpha-argmax against a known object mask

Every fit runs for a fixed number of epochs (seeded, so the numbers do not depend on how busy
the machine is; the fitting time is recorded), and every result records the device, library
versions and settings beside its numbers. Frame strips (PNG) go beside the JSON.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
import torch

from nvcodec.cli import representation_option
from nvcodec.decoder.layer_maps import dominant_layer
from nvcodec.decoder.render import render, render_layers
from nvcodec.decoder.stabilize import gaussian_smooth
from nvcodec.decoder.views import View
from nvcodec.encoder.fit import FitConfig, fit
from nvcodec.io.video import read_video, resize_frames
from nvcodec.metrics import psnr
from nvcodec.model.canvas import Canvas
from nvcodec.model.coordflow import CoordFlow, ModelConfig, count_parameters
from nvcodec.model.coordinates import frame_times
from nvcodec.model.presets import config_for_budget, grid_config_for_budget
from nvcodec.testing.synthetic import default_trajectory, object_clip, pan_clip
from tools.common import HELP_OPTIONS, RESULTS, bunny_path, render_all, save, upsample

SEED = 0
UPSAMPLING_SCHEMA = "nvcodec-upsampling/1"
INTERPOLATION_SCHEMA = "nvcodec-interpolation/1"
STABILIZATION_SCHEMA = "nvcodec-stabilization/1"
DENOISING_SCHEMA = "nvcodec-denoising/1"
SEGMENTATION_SCHEMA = "nvcodec-segmentation/1"


GRID_RESULTS = "The grid model's results get _grid in their names."


def result_name(application: str, representation: str) -> str:
    """The results' file stem: the MLP's under the application's name, the grid model's with
    `_grid` after it."""
    return f"applications_{application}" + ("_grid" if representation == "grid" else "")


def model_config(
    params: int, clip: np.ndarray, layers: int = 2, representation: str = "mlp"
) -> ModelConfig:
    count, height, width = clip.shape[:3]
    choose = grid_config_for_budget if representation == "grid" else config_for_budget
    return choose(params, width, height, count, num_layers=layers)


def fitted(
    clip: np.ndarray, params: int, epochs: float, representation: str = "mlp"
) -> tuple[CoordFlow, Canvas, dict]:
    """Fit for `epochs`; the model, its canvas, and a description of the fit for the JSON."""
    config = model_config(params, clip, representation=representation)
    result = fit(clip, config, FitConfig(epochs=epochs, seed=SEED))
    model, canvas = result.model, result.canvas
    value = psnr(clip, render_all(model, canvas, canvas.width, canvas.height))
    click.echo(
        f"  {epochs:g} epochs in {result.seconds:.0f} s: {value:.2f} dB on the fitted frames"
    )
    description = {
        "model": config.representation,
        "params": count_parameters(model),
        "layers": config.num_layers,
        "epochs": epochs,
        "fit_seconds": round(result.seconds, 1),
        "psnr_on_fitted_frames": round(value, 3),
    }
    return model, canvas, description


def rendered(
    model: CoordFlow, canvas: Canvas, frames: torch.Tensor, view: View, size=None
) -> np.ndarray:
    width, height = size or (canvas.width, canvas.height)
    return np.stack(list(view.render(model, canvas, width, height, frames)))


def write_png(path: Path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG from an H x W x 3 uint8 array (no imaging library needed)."""
    height, width = rgb.shape[:2]
    rows = b"".join(b"\x00" + np.ascontiguousarray(row).tobytes() for row in rgb)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


def strip(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of frames [n, H, W, 3] tiled into one image with white gaps."""
    tiles = []
    for frames in rows:
        pad = np.full((len(frames), frames.shape[1], gap, 3), 255, np.uint8)
        tiles.append(np.concatenate(np.concatenate([frames, pad], axis=2), axis=1)[:, :-gap])
    spacer = np.full((gap, tiles[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for tile in tiles for x in (tile, spacer)][:-1], axis=0)


def timed(run: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    result = run()
    return {**result, "seconds": round(time.perf_counter() - started, 1)}


# --- 1. upsampling ---


def upsampling_case(
    name: str, truth: np.ndarray, factor: int, params: int, epochs: float, representation: str
) -> dict:
    count, height, width = truth.shape[:3]
    small = resize_frames(truth, (width // factor, height // factor))
    model, canvas, fitting = fitted(small, params, epochs, representation)
    row = {
        "clip": name,
        "fitted_size": [canvas.width, canvas.height],
        "true_size": [width, height],
        "fit": fitting,
        "psnr_coordflow": psnr(truth, render_all(model, canvas, width, height)),
        "psnr_bilinear": psnr(truth, upsample(small, width, height, "bilinear")),
        "psnr_nearest": psnr(truth, upsample(small, width, height, "nearest")),
    }
    click.echo(
        f"{name}: CoordFlow {row['psnr_coordflow']:.2f}, bilinear {row['psnr_bilinear']:.2f}, "
        f"nearest {row['psnr_nearest']:.2f} dB"
    )
    return row


@click.group(context_settings=HELP_OPTIONS)
def main() -> None:
    """CoordFlow's applications (the paper's section 4), measured."""
    torch.manual_seed(SEED)


@main.command()
@click.option("--epochs", default=60.0, show_default=True, help="Fitting effort per clip.")
@click.option("--params", default=25_000, show_default=True)
@representation_option("mlp", GRID_RESULTS)
def upsampling(epochs: float, params: int, representation: str) -> None:
    """Fit a 4x-downsampled clip (80x45, area filter), render at 320x180, compare with the true
    320x180 frames beside bilinear and nearest upsampling of the same small clip."""
    frames, width, height = 32, 320, 180

    def run() -> dict:
        bunny = read_video(bunny_path(), 0, frames, (width, height)).frames_u8
        pan = pan_clip(width, height, default_trajectory(frames, width, height), seed=SEED)
        rows = [
            upsampling_case("bunny", bunny, 4, params, epochs, representation),
            upsampling_case("synthetic pan", pan, 4, params, epochs, representation),
        ]
        return {"settings": {"factor": 4, "frames": frames, "params": params}, "rows": rows}

    save(result_name("upsampling", representation), UPSAMPLING_SCHEMA, timed(run))


# --- 2. interpolation ---


def interpolation_case(
    name: str, clip: np.ndarray, params: int, epochs: float, representation: str
) -> dict:
    even, odd = clip[0::2], clip[1::2]
    model, canvas, fitting = fitted(even, params, epochs, representation)
    inner = len(even) - 1  # odd frames between two even ones; the last odd frame has no right
    halfway = torch.arange(inner, dtype=torch.float64) + 0.5
    ours = np.stack(list(render(model, canvas, canvas.width, canvas.height, halfway)))
    mean = (even[:-1].astype(np.float64) + even[1:]) / 2
    row = {
        "clip": name,
        "fit": fitting,
        "interpolated_frames": inner,
        "psnr_coordflow": psnr(odd[:inner], ours),
        "psnr_blend": psnr(odd[:inner], np.round(mean).astype(np.uint8)),
        "psnr_repeat": psnr(odd[:inner], even[:-1]),
    }
    click.echo(
        f"{name}: CoordFlow {row['psnr_coordflow']:.2f}, blend {row['psnr_blend']:.2f}, "
        f"repeat {row['psnr_repeat']:.2f} dB"
    )
    return row


@main.command()
@click.option("--epochs", default=30.0, show_default=True, help="Fitting effort per clip.")
@click.option("--params", default=25_000, show_default=True)
@representation_option("mlp", GRID_RESULTS)
def interpolation(epochs: float, params: int, representation: str) -> None:
    """Fit the even frames of a 32-frame clip at 160x90; render each odd frame at its sub-frame
    time and compare with the true frame, beside blending its two neighbours and repeating the
    previous one."""
    frames, width, height = 32, 160, 90

    def run() -> dict:
        bunny = read_video(bunny_path(), 0, frames, (width, height)).frames_u8
        pan = pan_clip(width, height, default_trajectory(frames, width, height), seed=SEED)
        rows = [
            interpolation_case("bunny", bunny, params, epochs, representation),
            interpolation_case("synthetic pan", pan, params, epochs, representation),
        ]
        return {
            "settings": {"frames": frames, "size": [width, height], "params": params},
            "rows": rows,
        }

    save(result_name("interpolation", representation), INTERPOLATION_SCHEMA, timed(run))


# --- 3. stabilization ---


def shaken_pan(frames: int, width: int, height: int, shake_px: float) -> tuple[np.ndarray, ...]:
    """A smooth pan plus hand shake: band-limited noise (a Gaussian of 1 frame over white noise,
    periods of about 6 frames and up) scaled to `shake_px` RMS per axis. Returns the smooth and
    the shaken trajectories [frames, 2] in pixels."""
    k = np.arange(frames) / (frames - 1)
    smooth = np.stack((0.15 * width * np.sin(np.pi * k), 0.1 * height * k), axis=-1)
    noise = np.random.default_rng(SEED).normal(size=(frames, 2))
    shake = gaussian_smooth(noise, 1.0)
    shake = (shake - shake.mean(axis=0)) / shake.std(axis=0) * shake_px
    return smooth, smooth + shake


def phase_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The (dx, dy) by which frame b's content is shifted against frame a's, to a fraction of
    a pixel: phase correlation of the central halves (Hann-windowed) with a parabolic peak."""
    height, width = a.shape[:2]
    crop = (slice(height // 4, height - height // 4), slice(width // 4, width - width // 4))
    grey = [frame[crop].astype(np.float64).mean(axis=-1) for frame in (a, b)]
    window = np.outer(np.hanning(grey[0].shape[0]), np.hanning(grey[0].shape[1]))
    fa, fb = (np.fft.fft2((g - g.mean()) * window) for g in grey)
    cross = fb * np.conj(fa)
    surface = np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-12)).real
    peak = np.unravel_index(np.argmax(surface), surface.shape)
    shift = []
    for axis in (1, 0):
        size = surface.shape[axis]
        index = list(peak)
        values = []
        for step in (-1, 0, 1):
            index[axis] = (peak[axis] + step) % size
            values.append(surface[tuple(index)])
        left, centre, right = values
        curvature = left - 2 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        position = peak[axis] + offset
        shift.append(position - size if position > size / 2 else position)
    return np.array(shift)


def measured_path(frames: np.ndarray) -> np.ndarray:
    """The content's path [T, 2] in pixels from frame 0, by phase correlation of neighbours."""
    steps = [phase_shift(a, b) for a, b in zip(frames[:-1], frames[1:], strict=True)]
    return np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


def jitter(path: np.ndarray, smooth: np.ndarray) -> dict:
    """How far a path strays from the smooth pan (RMS over both axes, after removing the
    constant offset a measured path starts with) and the RMS of its second difference."""
    deviation = path - smooth
    deviation -= deviation.mean(axis=0)
    return {
        "rms_deviation_px": round(float(np.sqrt(np.mean(deviation**2))), 3),
        "rms_second_difference_px": round(
            float(np.sqrt(np.mean(np.diff(path, 2, axis=0) ** 2))), 3
        ),
    }


@main.command()
@click.option("--epochs", default=25.0, show_default=True, help="Fitting effort.")
@click.option("--params", default=25_000, show_default=True)
@representation_option("mlp", GRID_RESULTS)
@click.option("--sigma", default=3.0, show_default=True, help="Smoothing, in frames.")
@click.option("--shake", default=2.0, show_default=True, help="RMS shake per axis, pixels.")
def stabilization(
    epochs: float, params: int, representation: str, sigma: float, shake: float
) -> None:
    """A synthetic pan shaken by a known amount: the camera path the flow recovered, before and
    after smoothing, and the motion measured in the plain and the stabilized renders."""
    frames, width, height = 40, 128, 72
    name = result_name("stabilization", representation)

    def run() -> dict:
        smooth, shaken = shaken_pan(frames, width, height, shake)
        clip = pan_clip(width, height, shaken, seed=SEED)
        model, canvas, fitting = fitted(clip, params, epochs, representation)
        source = torch.arange(frames, dtype=torch.float64)
        layer = dominant_layer(model, canvas)
        with torch.no_grad():
            params_flow = model.flow_parameters(frame_times(canvas, source))[layer].double()
        # Content moving by u pixels sits at x' = x - u in the canonical space, in model units
        # of 2 / max(W, H) per pixel.
        pixel = 2.0 / max(width, height)
        flow_path = -params_flow[:, 2:].numpy() / pixel
        plain = render_all(model, canvas, width, height)
        steady = rendered(model, canvas, source, View(stabilize=sigma, stabilize_layer=layer))
        rows = {
            "true shaken path": jitter(shaken, smooth),
            "true shaken path smoothed": jitter(gaussian_smooth(shaken, sigma), smooth),
            "input frames, measured": jitter(measured_path(clip), smooth),
            "flow's camera path": jitter(flow_path, smooth),
            "camera path smoothed": jitter(gaussian_smooth(flow_path, sigma), smooth),
            "plain render, measured": jitter(measured_path(plain), smooth),
            "stabilized render, measured": jitter(measured_path(steady), smooth),
        }
        for path_name, row in rows.items():
            click.echo(f"{path_name:30s} {row}")
        # A still frame cannot show shake; the middle row over time (an x-t slice, two pixel
        # rows per frame) can.
        slices = np.stack([np.repeat(v[:, height // 2], 2, axis=0) for v in (clip, steady)])
        figure = strip([np.stack((clip[frames // 2], steady[frames // 2])), slices])
        write_png(RESULTS / f"{name}.png", figure)
        return {
            "settings": {
                "clip": f"synthetic pan {width}x{height}x{frames}, shake {shake} px RMS per axis",
                "sigma_frames": sigma,
                "params": params,
                "camera_layer": layer,
            },
            "fit": fitting,
            "jitter": rows,
            "strip": f"{name}.png: left the input, right the stabilized render; top the middle "
            "frame, bottom the middle row over time (x-t slice)",
        }

    save(name, STABILIZATION_SCHEMA, timed(run))


# --- 4. denoising ---


@main.command()
@click.option("--epochs", default=15.0, show_default=True, help="Fitting effort.")
@click.option("--params", default=50_000, show_default=True)
@representation_option("mlp", GRID_RESULTS)
@click.option("--noise", default=10.0, show_default=True, help="Noise sigma in 8-bit levels.")
def denoising(epochs: float, params: int, representation: str, noise: float) -> None:
    """Fit Bunny 160x90x32 with Gaussian noise added; PSNR of the fit and of the noisy input
    against the clean frames."""
    frames, width, height = 32, 160, 90

    def run() -> dict:
        clean = read_video(bunny_path(), 0, frames, (width, height)).frames_u8
        rng = np.random.default_rng(SEED)
        noisy = np.clip(np.round(clean + rng.normal(0, noise, clean.shape)), 0, 255)
        noisy = noisy.astype(np.uint8)
        model, canvas, fitting = fitted(noisy, params, epochs, representation)
        ours = render_all(model, canvas, width, height)
        result = {
            "settings": {"clip": f"bunny {width}x{height}x{frames}", "noise_sigma": noise},
            "fit": fitting,
            "psnr_noisy_vs_clean": psnr(clean, noisy),
            "psnr_fit_vs_clean": psnr(clean, ours),
            "psnr_fit_vs_noisy": psnr(noisy, ours),
        }
        click.echo(
            f"noisy {result['psnr_noisy_vs_clean']:.2f} dB, fit {result['psnr_fit_vs_clean']:.2f}"
            " dB against the clean frames"
        )
        return result

    save(result_name("denoising", representation), DENOISING_SCHEMA, timed(run))


# --- 5. segmentation ---


def best_iou(labels: np.ndarray, mask: np.ndarray, layers: int) -> tuple[float, int]:
    """The IoU of the true mask with the layer that matches it best, and that layer."""
    scores = []
    for layer in range(layers):
        ours = labels == layer
        scores.append(np.logical_and(ours, mask).sum() / max(np.logical_or(ours, mask).sum(), 1))
    best = int(np.argmax(scores))
    return float(scores[best]), best


@main.command()
@click.option(
    "--epochs",
    default=40.0,
    show_default=True,
    help="Fitting effort (at 20 the grid model's layers split the disc from the pan on one "
    "machine and flow width and not on another).",
)
@click.option("--params", default=25_000, show_default=True)
@representation_option("mlp", GRID_RESULTS)
def segmentation(epochs: float, params: int, representation: str) -> None:
    """A textured disc crossing a panning background (same texture statistics: only motion
    tells them apart); IoU of the alpha argmax with the disc's true mask."""
    name = result_name("segmentation", representation)
    frames, width, height, radius = 32, 128, 72, 22.0

    def run() -> dict:
        k = np.linspace(0.0, 1.0, frames)
        background = np.stack((12 - 24 * k, 4 * np.sin(np.pi * k)), axis=-1)
        path = np.stack((-36 + 72 * k, 10 * np.sin(2 * np.pi * k)), axis=-1)
        clip, masks = object_clip(width, height, background, path, radius, seed=SEED)
        model, canvas, fitting = fitted(clip, params, epochs, representation)
        source = torch.arange(frames, dtype=torch.float64)
        alpha = np.stack([f.alpha for f in render_layers(model, canvas, width, height, source)])
        labels = alpha.argmax(axis=1)
        layers = model.config.num_layers
        iou, layer = best_iou(labels, masks, layers)
        per_frame = [
            best_iou(labels[i : i + 1], masks[i : i + 1], layers)[0] for i in range(frames)
        ]
        click.echo(f"IoU {iou:.3f} (object layer {layer}), mean alpha {alpha.mean(axis=(0, 2, 3))}")
        picks = torch.tensor([4.0, 16.0, 28.0], dtype=torch.float64)
        index = picks.long().numpy()
        kept = 1 - layer if layers == 2 else layer
        rows = [
            clip[index],
            rendered(model, canvas, picks, View(alpha_map=True)),
            rendered(model, canvas, picks, View(layer=kept)),
        ]
        write_png(RESULTS / f"{name}.png", strip(rows))
        return {
            "settings": {
                "clip": f"synthetic disc (radius {radius:g} px) over a pan, {width}x{height}x"
                f"{frames}",
                "params": params,
            },
            "fit": fitting,
            "iou": round(iou, 4),
            "iou_per_frame_min": round(min(per_frame), 4),
            "iou_per_frame_max": round(max(per_frame), 4),
            "object_layer": layer,
            "mean_alpha": [round(float(a), 4) for a in alpha.mean(axis=(0, 2, 3))],
            "strip": f"{name}.png: frames, alpha map, the other layer alone",
        }

    save(name, SEGMENTATION_SCHEMA, timed(run))


@main.command(name="all")
@representation_option("mlp", GRID_RESULTS)
@click.pass_context
def run_all(context: click.Context, representation: str) -> None:
    """All five, with their default settings."""
    started = time.perf_counter()
    for command in (segmentation, stabilization, upsampling, interpolation, denoising):
        context.invoke(command, representation=representation)
    click.echo(f"all done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
