"""Golden .cfv files in spec/vectors/ and the digests of their decoded frames.

    python -m tools.make_vectors                # check the stored vectors against this decoder
    python -m tools.make_vectors --regenerate   # refit the tiny models and rewrite spec/vectors/

spec/vectors/1.0/ to 1.4/ keep files written by the version 1.0 encoder (float16 flow nets), the
version 1.1 encoder, the version 1.2 encoder (the first grid model), the version 1.3 encoder
(the first segmented file; grid latents not yet context coded) and the version 1.4 encoder
(context coding without the previous frame), which this decoder must still read; they are
checked but never rewritten.

Each vector is a tiny fit of a synthetic clip. vectors.json holds, per file, its SHA-256 and the
SHA-256 of its decoded frames (uint8 RGB, frames in order, rows top to bottom, pixels left to
right, R G B) at the native size and at twice the size; NAME.frames.npz holds the same frames
so that a decoder whose floats round differently can see by how much it differs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

import click
import numpy as np
import torch

from nvcodec.bitstream.cfv import parse_cfv
from nvcodec.bitstream.codec import encode_cfv
from nvcodec.bitstream.context import TEMPORAL_CLASSES
from nvcodec.bitstream.segments import join_segments
from nvcodec.decoder.segments import ClipModels
from nvcodec.decoder.views import View
from nvcodec.encoder.fit import FitConfig, fit
from nvcodec.encoder.segments import cut
from nvcodec.model.config import GridConfig, ModelConfig
from nvcodec.testing.synthetic import default_trajectory, object_clip, pan_clip
from tools.common import HELP_OPTIONS

VECTORS_DIR = Path(__file__).resolve().parents[1] / "spec" / "vectors"
INDEX = VECTORS_DIR / "vectors.json"
FROZEN_DIRS = tuple(VECTORS_DIR / version for version in ("1.0", "1.1", "1.2", "1.3", "1.4"))

# name: (width, height, frames, fps, clip seed, qmax, architecture)
VECTORS = {
    "one-layer": (
        16, 12, 4, Fraction(24), 3, 127,
        ModelConfig(num_layers=1, colour_width=16, colour_depth=2, xy_octaves=3, t_octaves=2,
                    flow_width=8, flow_depth=1, flow_octaves=2),
    ),
    "two-layer": (
        20, 12, 6, Fraction(30000, 1001), 4, 31,
        ModelConfig(num_layers=2, colour_width=16, colour_depth=2, xy_octaves=3, t_octaves=2,
                    flow_width=8, flow_depth=2, flow_octaves=2),
    ),
    "no-flow-silu": (
        12, 16, 3, Fraction(25, 2), 5, 63,
        ModelConfig(num_layers=2, colour_width=12, colour_depth=1, xy_octaves=2, t_octaves=1,
                    use_flow=False, activation="silu"),
    ),
    "grid": (
        20, 12, 6, Fraction(24), 6, 63,
        ModelConfig(num_layers=2, colour_width=8, colour_depth=2, xy_octaves=0, t_octaves=0,
                    flow_width=8, flow_depth=1, flow_octaves=2,
                    grid=GridConfig(width=30, height=18, levels=3, xyt_width=8, xyt_height=5,
                                    xyt_frames=3, xyt_channels=2, margin_percent=25)),
    ),
    "grid-context": (
        64, 48, 4, Fraction(24), 7, 63,
        ModelConfig(num_layers=1, colour_width=8, colour_depth=1, xy_octaves=0, t_octaves=0,
                    flow_width=8, flow_depth=1, flow_octaves=2,
                    grid=GridConfig(width=80, height=60, levels=2, xyt_width=10, xyt_height=8,
                                    xyt_frames=2, xyt_channels=1, margin_percent=25)),
    ),
    "grid-temporal": (
        64, 48, 16, Fraction(24), 8, 63,
        ModelConfig(num_layers=1, colour_width=8, colour_depth=1, xy_octaves=0, t_octaves=0,
                    flow_width=8, flow_depth=1, flow_octaves=2,
                    grid=GridConfig(width=80, height=60, levels=2, xyt_width=32, xyt_height=24,
                                    xyt_frames=16, xyt_channels=1, margin_percent=25)),
    ),
}  # fmt: skip
WITH_PREVIOUS_FRAME = "grid-temporal"
"""The vector whose volume must be coded by context with the previous frame (coding 2): its
clip is a disc drifting over a pan, which one layer's flow cannot follow both of, so the
volume holds the disc from frame to frame."""


SEGMENTED = {"segments": ("one-layer", 18, 6, 1)}
"""name: (the vector whose clip size, rate and architecture each segment has, the clip's
frames, the segment length, the overlap)"""


def decoded_frames(data: bytes, scale: int) -> np.ndarray:
    """Every frame of a .cfv file rendered on the CPU at `scale` times its size."""
    clip = ClipModels.open(data, torch.device("cpu"))
    canvas = clip.canvas
    times = torch.arange(canvas.num_frames, dtype=torch.float64)
    size = (canvas.width * scale, canvas.height * scale)
    return np.stack(list(clip.render(View(), *size, times)))


def digest(frames_u8: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frames_u8, dtype=np.uint8).tobytes()).hexdigest()


def describe(name: str, data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The index entry and the decoded frames of one vector."""
    frames = {"native": decoded_frames(data, 1), "double": decoded_frames(data, 2)}
    entry = {
        "file": f"{name}.cfv",
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "frames_file": f"{name}.frames.npz",
    }
    for key, value in frames.items():
        entry[key] = {"width": value.shape[2], "height": value.shape[1], "sha256": digest(value)}
    return entry, frames


def _fitted(clip: np.ndarray, fps: Fraction, config: ModelConfig, qmax: int, meta: dict) -> bytes:
    result = fit(clip, config, FitConfig(epochs=60, batch_size=256, seed=0), fps)
    return encode_cfv(result.model, result.canvas, meta, qmax=qmax)


def vector_clip(name: str, width: int, height: int, count: int, seed: int) -> np.ndarray:
    """The synthetic clip a vector is fitted to: a pan, or for WITH_PREVIOUS_FRAME a disc
    drifting over one."""
    if name != WITH_PREVIOUS_FRAME:
        return pan_clip(width, height, default_trajectory(count, width, height), seed=seed)
    k = np.linspace(0.0, 1.0, count)
    background = np.stack((6 - 12 * k, 2 * np.sin(np.pi * k)), axis=-1)
    path = np.stack((-6 + 12 * k, 2 * np.sin(2 * np.pi * k)), axis=-1)
    return object_clip(width, height, background, path, 12.0, seed=seed)[0]


def regenerate() -> None:
    VECTORS_DIR.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (width, height, count, fps, seed, qmax, config) in VECTORS.items():
        clip = vector_clip(name, width, height, count, seed)
        files[name] = _fitted(clip, fps, config, qmax, {"vector": name})
    for name, (like, count, length, overlap) in SEGMENTED.items():
        width, height, _, fps, seed, qmax, config = VECTORS[like]
        clip = vector_clip(like, width, height, count, seed)
        windows = list(cut(iter(clip), length, overlap))
        parts = [_fitted(w.frames_u8, fps, config, qmax, {}) for w in windows]
        margins = [(w.lead, w.tail) for w in windows]
        files[name] = join_segments(parts, {"vector": name}, margins)
    latents = parse_cfv(files[WITH_PREVIOUS_FRAME]).latents
    if not any(isinstance(m, list) and len(m) == TEMPORAL_CLASSES for m in latents.models):
        raise click.ClickException(f"{WITH_PREVIOUS_FRAME}: no grid coded with the previous frame")
    index = {}
    for name, data in files.items():
        (VECTORS_DIR / f"{name}.cfv").write_bytes(data)
        index[name], frames = describe(name, data)
        np.savez_compressed(VECTORS_DIR / f"{name}.frames.npz", **frames)
        click.echo(f"{name}: {len(data)} bytes")
    INDEX.write_text(json.dumps(index, indent=2) + "\n")


def steps_off(frames: np.ndarray, stored: np.ndarray) -> int | None:
    """How many samples of `frames` differ from `stored`, when all by one step and fewer than
    1% of them, the conformance bound (spec/cfv.md, section 9); None outside it."""
    if frames.shape != stored.shape:
        return None
    difference = np.abs(frames.astype(np.int16) - stored)
    off = int(np.count_nonzero(difference))
    return off if difference.max(initial=0) <= 1 and off < 0.01 * difference.size else None


def check() -> bool:
    """Whether every stored vector, current and frozen, decodes to its stored frames: exactly,
    or within the conformance bound (then how many samples are one step off)."""
    ok = True
    for directory in (VECTORS_DIR, *FROZEN_DIRS):
        index = json.loads((directory / "vectors.json").read_text())
        for name, expected in index.items():
            entry, frames = describe(name, (directory / expected["file"]).read_bytes())
            stored = np.load(directory / expected["frames_file"], allow_pickle=False)
            off = [steps_off(frames[key], stored[key]) for key in frames]
            label = directory.relative_to(VECTORS_DIR) / name
            if entry == expected:
                verdict = "ok"
            elif entry["file_sha256"] == expected["file_sha256"] and None not in off:
                verdict = f"ok within the bound, {sum(off)} samples one step off"
            else:
                verdict, ok = "MISMATCH", False
            click.echo(f"{label}: {verdict}")
    return ok


@click.command(context_settings=HELP_OPTIONS)
@click.option("--regenerate", "rewrite", is_flag=True, help="Refit and rewrite the vectors.")
def main(rewrite: bool) -> None:
    """Check the golden vectors, or regenerate them with --regenerate."""
    if rewrite:
        regenerate()
    elif not check():
        sys.exit(1)


if __name__ == "__main__":
    main()
